package io.pvecri.daemon.pod;

import io.pvecri.daemon.errors.CriException;
import io.pvecri.daemon.util.RequestLimits;

import java.util.List;
import java.util.Map;
import java.util.regex.Pattern;

/**
 * Pod sysctls must be namespaced (they apply to the pod's own network or IPC namespace, never
 * to the node), as runc checks: net.* with a pod network, and the IPC ones with a pod IPC.
 */
final class Sysctls {
    private static final Pattern NAME = Pattern.compile("^[a-z0-9_]+(\\.[a-z0-9_-]+)+$");
    private static final List<String> IPC = List.of("kernel.msgmax", "kernel.msgmnb", "kernel.msgmni", "kernel.sem",
            "kernel.shmall", "kernel.shmmax", "kernel.shmmni", "kernel.shm_rmid_forced");

    private Sysctls() {}

    static void validate(Map<String, String> sysctls, boolean hostNetwork, boolean hostIpc) {
        if (sysctls.size() > 128) {
            throw CriException.invalid("too many sysctls (" + sysctls.size() + "); at most 128");
        }
        for (var e : sysctls.entrySet()) {
            String k = e.getKey();
            String v = e.getValue();
            if (!NAME.matcher(k).matches() || k.length() > 128) {
                throw CriException.invalid("sysctl name '" + RequestLimits.printable(k) + "' is not valid");
            }
            if (v.length() > 256 || v.chars().anyMatch(c -> c < 0x20 && c != '\t')) {
                throw CriException.invalid("sysctl " + k + " has an unusable value");
            }
            boolean ipc = IPC.contains(k) || k.startsWith("fs.mqueue.");
            boolean net = k.startsWith("net.");
            if (net && hostNetwork) {
                throw CriException.invalid("sysctl " + k + " would change the node's network; it is refused for host-network pods");
            }
            if (ipc && hostIpc) {
                throw CriException.invalid("sysctl " + k + " would change the node's IPC settings; it is refused for host-IPC pods");
            }
            if (!net && !ipc) {
                throw CriException.invalid("sysctl " + k + " is not namespaced (only net.* and IPC sysctls can be set per pod); set it on the node");
            }
        }
    }
}
