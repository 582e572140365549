package io.pvecri.proxmox;

import org.junit.jupiter.api.Test;

import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

/**
 * What an API token may not set, as {@code PVE::LXC::check_ct_modify_config_perm} words it: every
 * emulator request comes from a token, which is never {@code root@pam}.
 */
class TokenPermissionRulesTest {

    private static PveException.PermissionDenied denied(Fixture f, int vmid, String key, String value) {
        return assertThrows(PveException.PermissionDenied.class,
                () -> f.lxc().updateConfig(vmid, ConfigUpdate.set(PveParams.of().with(key, value))));
    }

    @Test
    void bindAndDeviceMountPointsDevicesHookscriptsAndFeatureFlagsAreRootOnly() {
        try (Fixture f = new Fixture()) {
            f.createCt(100, Map.of());
            assertEquals("Permission check failed (mount point type bind is only allowed for root@pam)",
                    denied(f, 100, "mp0", "/srv/data,mp=/data").pveMessage());
            assertEquals("Permission check failed (mount point type device is only allowed for root@pam)",
                    denied(f, 100, "mp1", "/dev/sdb1,mp=/data").pveMessage());
            assertEquals("Permission check failed (configuring device passthrough is only allowed for root@pam)",
                    denied(f, 100, "dev0", "/dev/null,mode=0666").pveMessage());
            assertEquals("Permission check failed (changing the hookscript is only allowed for root@pam)",
                    denied(f, 100, "hookscript", "local:snippets/hook.sh").pveMessage());
            assertEquals("Permission check failed (changing feature flags (except nesting) is only allowed for root@pam)",
                    denied(f, 100, "features", "nesting=1,keyctl=1").pveMessage());
            // removing a device is root@pam's business too
            assertEquals("Permission check failed (configuring device passthrough is only allowed for root@pam)",
                    assertThrows(PveException.PermissionDenied.class,
                            () -> f.lxc().updateConfig(100, ConfigUpdate.delete("dev0"))).pveMessage());

            // what a token may do
            f.lxc().updateConfig(100, ConfigUpdate.set(PveParams.of().with("features", "nesting=1")));
            f.lxc().updateConfig(100, ConfigUpdate.set(PveParams.of().with("mp0", "local-zfs:1,mp=/data")));
            assertEquals("nesting=1", f.lxc().config(100).get("features").orElseThrow());
        }
    }

    @Test
    void createRefusesTheSameAndRawKeysAreNotParameters() {
        try (Fixture f = new Fixture()) {
            var e = assertThrows(PveException.PermissionDenied.class, () -> f.createCt(100, Map.of("mp0", "/srv,mp=/srv")));
            assertEquals("Permission check failed (mount point type bind is only allowed for root@pam)", e.pveMessage());
            assertEquals(false, f.pve.cluster().guest(100).isPresent(), "nothing created");
            var raw = assertThrows(PveException.InvalidParameter.class,
                    () -> f.lxc().updateConfig(100, ConfigUpdate.set(PveParams.of().with("lxc.init.cmd", "/init"))));
            assertEquals(Map.of("lxc.init.cmd", "property is not defined in schema and the schema does not allow additional properties"),
                    raw.errors());
        }
    }
}
