package io.pvecri.proxmox;

import org.junit.jupiter.api.Test;

import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class ConfigDigestTest {

    @Test
    void staleDigestIsRefusedFreshDigestApplies() {
        try (Fixture f = new Fixture()) {
            f.createCt(100, Map.of("net0", "name=eth0,bridge=vmbr0,ip=dhcp"));
            LxcConfig before = f.lxc().config(100);
            assertEquals(40, before.digest().length());
            assertTrue(before.get("net0").orElseThrow().matches("name=eth0,hwaddr=BC:24:11:[0-9A-F:]{8},bridge=vmbr0,ip=dhcp,type=veth"),
                    before.get("net0").orElseThrow());
            // someone else changes the config in between
            f.lxc().updateConfig(100, ConfigUpdate.set(PveParams.of().with("cores", 2)));
            var e = assertThrows(PveException.ConfigChanged.class, () -> f.lxc().updateConfig(100,
                    ConfigUpdate.set(PveParams.of().with("memory", 1024)).ifDigest(before.digest())));
            assertEquals("detected modified configuration - file changed by other user? Try again.", e.pveMessage());
            assertEquals("512", f.lxc().config(100).get("memory").orElseThrow());

            LxcConfig now = f.lxc().config(100);
            assertNotEquals(before.digest(), now.digest());
            f.lxc().updateConfig(100, ConfigUpdate.set(PveParams.of().with("memory", 1024).with("tags", "pvecri;pod-a"))
                    .deleting("cores").ifDigest(now.digest()));
            LxcConfig after = f.lxc().config(100);
            assertEquals("1024", after.get("memory").orElseThrow());
            assertEquals(java.util.Set.of("pvecri", "pod-a"), after.tags());
            assertFalse(after.get("cores").isPresent());
        }
    }

    @Test
    void pveRefusalsOfConfigChanges() {
        try (Fixture f = new Fixture()) {
            f.createCt(100, Map.of());
            assertEquals("unable to delete required option 'memory'", assertThrows(PveException.ApiError.class,
                    () -> f.lxc().updateConfig(100, ConfigUpdate.delete("memory"))).pveMessage());
            assertEquals("unable to modify read-only option: 'unprivileged'", assertThrows(PveException.ApiError.class,
                    () -> f.lxc().updateConfig(100, ConfigUpdate.set(PveParams.of().with("unprivileged", false)))).pveMessage());
        }
    }
}
