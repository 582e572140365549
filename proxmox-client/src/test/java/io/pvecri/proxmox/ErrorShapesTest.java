package io.pvecri.proxmox;

import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import java.time.Duration;
import java.util.Map;
import java.util.Optional;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Every PVE error shape, over real HTTPS, lands in the right exception with PVE's message: once with
 * the JSON {@code message} field (PVE 8.3+), once with the message only in the reason phrase (older).
 */
class ErrorShapesTest {

    private static Fixture fixture(boolean legacy) {
        return new Fixture(e -> e.legacyErrors(legacy), c -> c.lockRetry(LockRetry.Policy.none()));
    }

    @ParameterizedTest(name = "legacy reason-phrase errors: {0}")
    @ValueSource(booleans = {false, true})
    void notFound(boolean legacy) {
        try (Fixture f = fixture(legacy)) {
            var e = assertThrows(PveException.NotFound.class, () -> f.lxc().config(999));
            assertEquals("Configuration file 'nodes/pve1/lxc/999.conf' does not exist", e.pveMessage());
            assertEquals(500, e.status());
            assertEquals("GET /nodes/{node}/lxc/{vmid}/config", e.endpoint());
        }
    }

    @ParameterizedTest(name = "legacy reason-phrase errors: {0}")
    @ValueSource(booleans = {false, true})
    void lockedByConfigProperty(boolean legacy) {
        try (Fixture f = fixture(legacy)) {
            f.createCt(100, Map.of());
            f.pve.cluster().setLock(100, "disk");
            var e = assertThrows(PveException.Locked.class,
                    () -> f.lxc().updateConfig(100, ConfigUpdate.set(PveParams.of().with("memory", 1024))));
            assertEquals("CT is locked (disk)", e.pveMessage());
        }
    }

    @ParameterizedTest(name = "legacy reason-phrase errors: {0}")
    @ValueSource(booleans = {false, true})
    void lockedByFlockTimeout(boolean legacy) throws Exception {
        try (Fixture f = fixture(legacy)) {
            f.createCt(100, Map.of());
            f.pve.cluster().holdConfigFlock(100, Duration.ofSeconds(2));
            var e = assertThrows(PveException.Locked.class,
                    () -> f.lxc().updateConfig(100, ConfigUpdate.set(PveParams.of().with("memory", 1024))));
            assertEquals("can't lock file '/run/lock/lxc/pve-config-100.lock' - got timeout", e.pveMessage());
        }
    }

    @ParameterizedTest(name = "legacy reason-phrase errors: {0}")
    @ValueSource(booleans = {false, true})
    void alreadyExists(boolean legacy) {
        try (Fixture f = fixture(legacy)) {
            f.createCt(100, Map.of());
            var e = assertThrows(PveException.AlreadyExists.class,
                    () -> f.lxc().create(100, PveParams.of().with("ostemplate", Fixture.TEMPLATE)));
            assertEquals("CT 100 already exists on node 'pve1'", e.pveMessage());
            assertEquals(100, e.vmid().orElseThrow());
            assertFalse(f.client.cluster().isFree(100));
            assertTrue(f.client.cluster().isFree(101));
        }
    }

    @ParameterizedTest(name = "legacy reason-phrase errors: {0}")
    @ValueSource(booleans = {false, true})
    void permissionDenied(boolean legacy) {
        try (Fixture f = fixture(legacy)) {
            f.pve.cluster().deny("/vms/150", "VM.Allocate");
            var e = assertThrows(PveException.PermissionDenied.class,
                    () -> f.lxc().create(150, PveParams.of().with("ostemplate", Fixture.TEMPLATE)));
            assertEquals("Permission check failed (/vms/150, VM.Allocate)", e.pveMessage());
            assertEquals(Optional.of("/vms/150, VM.Allocate"), e.detail());
            assertEquals(403, e.status());
        }
    }

    @ParameterizedTest(name = "legacy reason-phrase errors: {0}")
    @ValueSource(booleans = {false, true})
    void invalidParameters(boolean legacy) {
        try (Fixture f = fixture(legacy)) {
            var e = assertThrows(PveException.InvalidParameter.class, () -> f.lxc().create(120, PveParams.of()
                    .with("ostemplate", Fixture.TEMPLATE).with("memory", 8).with("start", "true").with("bogus", 1)));
            assertEquals("Parameter verification failed.", e.pveMessage());
            assertEquals(Map.of("memory", "value must have a minimum value of 16",
                    "start", "type check ('boolean') failed - got 'true'",
                    "bogus", "property is not defined in schema and the schema does not allow additional properties"), e.errors());
            assertEquals(400, e.status());
        }
    }

    @ParameterizedTest(name = "legacy reason-phrase errors: {0}")
    @ValueSource(booleans = {false, true})
    void invalidState(boolean legacy) {
        try (Fixture f = fixture(legacy)) {
            f.createCt(100, Map.of());
            var e = assertThrows(PveException.InvalidState.class, () -> f.lxc().stop(100));
            assertEquals("CT 100 not running", e.pveMessage());
            f.client.taskWaiter().await(f.lxc().start(100), Duration.ofSeconds(5));
            assertEquals("CT 100 already running",
                    assertThrows(PveException.InvalidState.class, () -> f.lxc().start(100)).pveMessage());
            assertEquals("unable to destroy CT 100 - container is running",
                    assertThrows(PveException.InvalidState.class, () -> f.lxc().delete(100)).pveMessage());
        }
    }

    @ParameterizedTest(name = "legacy reason-phrase errors: {0}")
    @ValueSource(booleans = {false, true})
    void authFailed(boolean legacy) {
        try (Fixture f = fixture(legacy);
             PveClient wrong = PveClient.create(PveClientConfig.builder(f.pve.uri(),
                     new ApiToken(Fixture.TOKEN_ID, "00000000-0000-0000-0000-000000000000"),
                     new TlsTrust.Fingerprint(TestCerts.localhost().fingerprint())).build())) {
            var e = assertThrows(PveException.AuthFailed.class, wrong::version);
            assertEquals("Authentication failed!", e.pveMessage());
            assertEquals(401, e.status());
        }
    }

    @ParameterizedTest(name = "legacy reason-phrase errors: {0}")
    @ValueSource(booleans = {false, true})
    void notImplementedAndProxyTimeouts(boolean legacy) {
        try (Fixture f = fixture(legacy)) {
            f.pve.faults().respond("POST", "/nodes/pve1/storage/local/oci-registry-pull", 1, 501,
                    "Method 'POST /nodes/pve1/storage/local/oci-registry-pull' not implemented");
            var e = assertThrows(PveException.ApiError.class,
                    () -> f.client.storage("pve1").pullOciImage("local", "docker.io/library/nginx:latest", Optional.empty()));
            assertEquals(501, e.status());
            assertEquals("Method 'POST /nodes/pve1/storage/local/oci-registry-pull' not implemented", e.pveMessage());

            f.pve.faults().respond("GET", "/version", 3, 596, "Connection timed out");
            var u = assertThrows(PveException.Unavailable.class, f.client::version);
            assertEquals(596, u.status());
            assertEquals("Connection timed out", u.pveMessage());
        }
    }

    @ParameterizedTest(name = "legacy reason-phrase errors: {0}")
    @ValueSource(booleans = {false, true})
    void taskFailureCarriesExitStatusAndLogTail(boolean legacy) {
        try (Fixture f = fixture(legacy)) {
            f.createCt(100, Map.of());
            f.pve.faults().failTasks("vzstart", 1, "startup for container '100' failed");
            Upid upid = f.lxc().start(100);
            var e = assertThrows(PveException.TaskFailed.class, () -> f.client.taskWaiter().await(upid, Duration.ofSeconds(5)));
            assertEquals("startup for container '100' failed", e.exitStatus());
            assertEquals(upid, e.upid());
            assertEquals("TASK ERROR: startup for container '100' failed", e.logTail().getLast());
            assertFalse(e.lockContention());
        }
    }
}
