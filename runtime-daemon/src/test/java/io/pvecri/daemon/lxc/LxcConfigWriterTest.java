package io.pvecri.daemon.lxc;

import io.pvecri.daemon.backend.LaunchSpec;
import org.junit.jupiter.api.Test;

import java.nio.file.Path;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;

/** The rootfs line for each kind of {@link LaunchSpec.Rootfs}. */
class LxcConfigWriterTest {
    private static LaunchSpec spec(LaunchSpec.Rootfs rootfs) {
        LaunchSpec.Ns p = new LaunchSpec.Ns.Private();
        return new LaunchSpec("c1", "h", "sha256:" + "0".repeat(64), Path.of("/images/tree"), rootfs, Path.of("/shim"), null, null,
                new LaunchSpec.Namespaces(p, p, p, p), List.of(), List.of(), false, List.of(),
                new LaunchSpec.Meta("p1", "pod", "ns", "c", 15, io.pvecri.daemon.cgroup.Resources.none()));
    }

    private static String rootfsLine(LaunchSpec s) {
        return new LxcConfigWriter(false).lines(s).stream().filter(l -> l.startsWith("lxc.rootfs.path")).findFirst().orElseThrow();
    }

    @Test
    void overlayAndDirectory() {
        assertEquals("lxc.rootfs.path = overlay:/mnt/lower:/ctr/upper",
                rootfsLine(spec(new LaunchSpec.Rootfs.Overlay(Path.of("/mnt/lower"), Path.of("/ctr/upper")))));
        assertEquals("lxc.rootfs.path = dir:/zfs/containers/c1",
                rootfsLine(spec(new LaunchSpec.Rootfs.Directory(Path.of("/zfs/containers/c1")))));
    }
}
