package io.pvecri.proxmox;

import com.fasterxml.jackson.databind.JsonNode;
import org.junit.jupiter.api.Test;

import java.time.Duration;
import java.util.Map;
import java.util.Set;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** {@code GET /access/permissions} against the emulator, and that it agrees with the permission checks. */
class AccessPermissionsTest {

    private static final Set<String> SOME_ADMIN = Set.of("VM.Allocate", "VM.Clone", "VM.Audit", "VM.PowerMgmt",
            "VM.Config.CPU", "Datastore.AllocateTemplate", "Datastore.AllocateSpace", "Sys.Audit", "Sys.Modify",
            "Permissions.Modify");

    @Test
    void aFullTokenHoldsAdministratorEverywhere() {
        try (Fixture f = new Fixture()) {
            for (String path : new String[] {"/", "/vms", "/vms/100", "/storage/local", "/nodes/pve1"}) {
                Set<String> privs = f.client.access().privileges(path);
                assertTrue(privs.containsAll(SOME_ADMIN), path + ": " + privs);
            }
            Map<String, Set<String>> all = f.client.access().permissions();
            assertEquals(Set.of("/", "/access", "/access/groups", "/nodes", "/pool", "/sdn", "/storage", "/vms"), all.keySet());
            assertEquals(all.get("/"), all.get("/vms"));
        }
    }

    @Test
    void aDenyTakesThePrivilegeOnItsPathAndBelowAndTheChecksAgree() {
        try (Fixture f = new Fixture()) {
            f.createTemplate(100);
            f.pve.cluster().deny("/vms", "VM.Clone");
            f.pve.cluster().deny("/storage/local", "Datastore.AllocateTemplate");

            assertFalse(f.client.access().privileges("/vms").contains("VM.Clone"));
            assertFalse(f.client.access().privileges("/vms/100").contains("VM.Clone"));
            assertTrue(f.client.access().privileges("/vms").contains("VM.Allocate"));
            assertTrue(f.client.access().privileges("/").contains("VM.Clone"), "a deny does not reach up");
            assertTrue(f.client.access().privileges("/vmsx").contains("VM.Clone"), "nor to a sibling sharing the prefix");
            assertFalse(f.client.access().privileges("/storage/local").contains("Datastore.AllocateTemplate"));
            assertTrue(f.client.access().privileges("/storage/local-zfs").contains("Datastore.AllocateTemplate"));

            // the whole tree lists the ACL paths too
            Map<String, Set<String>> all = f.client.access().permissions();
            assertFalse(all.get("/vms").contains("VM.Clone"));
            assertFalse(all.get("/storage/local").contains("Datastore.AllocateTemplate"));
            assertTrue(all.get("/storage").contains("Datastore.AllocateTemplate"));

            // what permissions() says is what the API enforces
            var e = assertThrows(PveException.PermissionDenied.class,
                    () -> f.client.taskWaiter().await(f.lxc().clone(100, 101, CloneOptions.linked()), Duration.ofSeconds(5)));
            assertEquals("Permission check failed (/vms/100, VM.Clone)", e.pveMessage());
        }
    }

    @Test
    void anotherUsersPermissionsNeedSysAuditOnAccess() {
        try (Fixture f = new Fixture()) {
            f.pve.cluster().deny("/access", "Sys.Audit");
            var e = assertThrows(PveException.PermissionDenied.class,
                    () -> f.client.access().permissions(PveParams.of().with("userid", "root@pam")));
            assertEquals("Permission check failed (/access, Sys.Audit)", e.pveMessage());
            // asking about itself by name is fine
            assertTrue(f.client.access().permissions(PveParams.of().with("userid", Fixture.TOKEN_ID)).containsKey("/"));
        }
    }

    @Test
    void propagateFlagsAndOddValuesAreReadLeniently() throws Exception {
        JsonNode data = Json.MAPPER.readTree("""
                {"/vms": {"VM.Audit": 1, "VM.Clone": 0, "VM.Allocate": "1", "VM.PowerMgmt": true, "VM.Gone": null},
                 "/storage/local": {}, "/odd": 7}""");
        Map<String, Set<String>> parsed = AccessApi.parse(data);
        assertEquals(Set.of("VM.Audit", "VM.Clone", "VM.Allocate", "VM.PowerMgmt"), parsed.get("/vms"));
        assertEquals(Set.of(), parsed.get("/storage/local"));
        assertEquals(Set.of(), parsed.get("/odd"));
        assertEquals(Map.of(), AccessApi.parse(Json.MAPPER.readTree("[]")));
    }
}
