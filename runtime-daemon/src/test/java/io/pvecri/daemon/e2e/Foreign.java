package io.pvecri.daemon.e2e;

import io.pvecri.proxmox.emulator.LocalEmulator;

import java.time.Duration;
import java.util.Map;

/** A CT that is not pve-cri's (no pve-cri tag), as an operator would have next to pve-cri's. */
final class Foreign {
    private Foreign() {}

    /** Creates a stopped foreign CT at {@code vmid} (or the next free id above) and returns its VMID. */
    static int create(PveTarget pve, int vmid) {
        var cluster = pve.emulator().orElseThrow().emulator().cluster();
        int id = vmid;
        while (cluster.guest(id).isPresent()) {
            id++;
        }
        cluster.putGuest(id, LocalEmulator.NODE, "lxc", Map.of("hostname", "operators-ct", "memory", "1024",
                "ostype", "debian", "arch", "amd64", "tags", "prod"));
        return id;
    }

    static void destroy(PveTarget pve, int vmid) {
        try {
            pve.client().taskWaiter().await(pve.client().lxc(pve.node()).delete(vmid), Duration.ofSeconds(30));
        } catch (RuntimeException e) {
            System.err.println("[e2e] cannot delete CT " + vmid + ": " + e.getMessage());
        }
    }
}
