package io.pvecri.gpu;

import org.junit.jupiter.api.Test;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Optional;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

class CgroupProcessOwnerTest {

    @Test
    void parsesV2AndV1Lines() {
        assertEquals(List.of("/lxc.payload.pvecri-abc/init.scope"),
                List.copyOf(CgroupProcessOwner.paths("0::/lxc.payload.pvecri-abc/init.scope\n")));
        assertEquals(List.of("/unified/x", "/lxc/abc", "/"), List.copyOf(CgroupProcessOwner.paths(
                "12:memory:/lxc/abc\n11:cpu,cpuacct:/lxc/abc\n1:name=systemd:/\n0::/unified/x\n")));
    }

    @Test
    void readsTheCgroupOfARealProcess() throws Exception {
        Process p = new ProcessBuilder("sleep", "60").start();
        try {
            String mine = Files.readString(Path.of("/proc/self/cgroup"));
            String path = CgroupProcessOwner.paths(mine).iterator().next();
            ProcessOwner owner = ProcessOwner.fromCgroups(c -> c.equals(path) ? Optional.of("ctr-1") : Optional.empty());
            assertEquals(Optional.of("ctr-1"), owner.containerOf(p.pid()));
            ProcessOwner nobody = ProcessOwner.fromCgroups(c -> Optional.empty());
            assertTrue(nobody.containerOf(p.pid()).isEmpty());
        } finally {
            p.destroyForcibly();
            p.waitFor();
        }
        ProcessOwner owner = ProcessOwner.fromCgroups(c -> Optional.of("any"));
        assertTrue(owner.containerOf(p.pid()).isEmpty(), "an exited process belongs to nobody");
        assertTrue(owner.containerOf(0).isEmpty());
    }
}
