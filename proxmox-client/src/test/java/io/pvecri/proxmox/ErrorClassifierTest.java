package io.pvecri.proxmox;

import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

import java.util.Map;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;

/** PVE's own texts (quoted from the Perl sources and issue threads) map to the right exception. */
class ErrorClassifierTest {

    static Stream<Arguments> cases() {
        return Stream.of(
                Arguments.of(500, "Configuration file 'nodes/pve1/lxc/123.conf' does not exist", Map.of(), PveException.NotFound.class),
                Arguments.of(400, "Parameter verification failed.", Map.of("upid", "no such task"), PveException.NotFound.class),
                Arguments.of(500, "volume 'local:vztmpl/x.tar' does not exist", Map.of(), PveException.NotFound.class),
                Arguments.of(500, "CT is locked (disk)", Map.of(), PveException.Locked.class),
                Arguments.of(500, "VM is locked (backup)", Map.of(), PveException.Locked.class),
                Arguments.of(500, "can't lock file '/run/lock/lxc/pve-config-100.lock' - got timeout", Map.of(), PveException.Locked.class),
                Arguments.of(500, "can't lock file '/var/lock/qemu-server/lock-100.conf' - got timeout", Map.of(), PveException.Locked.class),
                Arguments.of(500, "unable to create CT 100 - can't lock file '/run/lock/lxc/pve-config-100.lock' - got timeout", Map.of(), PveException.Locked.class),
                Arguments.of(500, "cfs-lock 'storage-local-zfs' error: got lock request timeout", Map.of(), PveException.Locked.class),
                Arguments.of(500, "CT 100 already exists on node 'pve1'", Map.of(), PveException.AlreadyExists.class),
                Arguments.of(500, "unable to create CT 100 - CT 100 already exists on node 'pve2'", Map.of(), PveException.AlreadyExists.class),
                Arguments.of(500, "VM 100 already exists on node 'pve1'", Map.of(), PveException.AlreadyExists.class),
                Arguments.of(400, "Parameter verification failed.", Map.of("vmid", "VM 100 already exists"), PveException.AlreadyExists.class),
                Arguments.of(403, "Permission check failed (/vms/100, VM.Allocate)", Map.of(), PveException.PermissionDenied.class),
                Arguments.of(403, "Permission check failed (mount point type bind is only allowed for root@pam)", Map.of(), PveException.PermissionDenied.class),
                Arguments.of(401, "Authentication failed!", Map.of(), PveException.AuthFailed.class),
                Arguments.of(401, "No ticket", Map.of(), PveException.AuthFailed.class),
                Arguments.of(400, "Parameter verification failed.", Map.of("memory", "value must have a minimum value of 16"), PveException.InvalidParameter.class),
                Arguments.of(400, "Parameter verification failed.", Map.of("start", "type check ('boolean') failed - got 'true'"), PveException.InvalidParameter.class),
                Arguments.of(500, "detected modified configuration - file changed by other user? Try again.", Map.of(), PveException.ConfigChanged.class),
                Arguments.of(500, "CT 100 already running", Map.of(), PveException.InvalidState.class),
                Arguments.of(500, "CT 100 not running", Map.of(), PveException.InvalidState.class),
                Arguments.of(500, "VM 100 not running", Map.of(), PveException.InvalidState.class),
                Arguments.of(500, "unable to destroy CT 100 - container is running", Map.of(), PveException.InvalidState.class),
                Arguments.of(500, "cluster not ready - no quorum?", Map.of(), PveException.Unavailable.class),
                Arguments.of(596, "Connection timed out", Map.of(), PveException.Unavailable.class),
                Arguments.of(595, "Connection refused", Map.of(), PveException.Unavailable.class),
                Arguments.of(503, "Service Unavailable", Map.of(), PveException.Unavailable.class),
                Arguments.of(501, "Method 'POST /nodes/pve1/storage/local/oci-registry-pull' not implemented", Map.of(), PveException.ApiError.class),
                Arguments.of(500, "unable to get any free VMID in range [100, 1000000]", Map.of(), PveException.ApiError.class),
                Arguments.of(500, "Linked clone feature for 'local:100/vm-100-disk-0.raw' is not available", Map.of(), PveException.ApiError.class));
    }

    @ParameterizedTest(name = "{0} \"{1}\" {2} -> {3}")
    @MethodSource("cases")
    void classifies(int status, String message, Map<String, String> errors, Class<? extends PveException> expected) {
        PveException e = ErrorClassifier.classify(status, message, errors, "POST /x");
        assertInstanceOf(expected, e);
        assertEquals(status, e.status());
        if (!(e instanceof PveException.AlreadyExists) && !(e instanceof PveException.NotFound && status == 400)) {
            assertEquals(message, e.pveMessage());
        }
    }
}
