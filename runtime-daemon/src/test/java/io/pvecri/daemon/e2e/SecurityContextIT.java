package io.pvecri.daemon.e2e;

import io.pvecri.daemon.e2e.Pods.Pod;
import io.pvecri.proto.cri.v1.Capability;
import io.pvecri.proto.cri.v1.ContainerState;
import io.pvecri.proto.cri.v1.Mount;
import io.pvecri.proto.cri.v1.SecurityProfile;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The security context and mounts as the main process and exec'd processes see them: the
 * capability set (default, added, dropped, privileged), a read-only rootfs with writable
 * volumes, no_new_privs, and bind mounts (read-only and read-write).
 */
class SecurityContextIT {
    @RegisterExtension
    static final DaemonExtension daemon = new DaemonExtension();

    /** CAP_NET_ADMIN, CAP_SYS_ADMIN and CAP_NET_RAW as bits of /proc/self/status Cap* masks. */
    private static final long NET_ADMIN = 1L << 12;
    private static final long SYS_ADMIN = 1L << 21;
    private static final long NET_RAW = 1L << 13;
    private static final long CHOWN = 1L;

    private static Pods pods;
    private static Pod pod;

    @BeforeAll
    static void pod() {
        pods = daemon.pods();
        pod = pods.run("sec");
    }

    private static long capMask(String container, String field) {
        String status = pods.execOk(container, "cat", "/proc/self/status");
        for (String line : status.split("\n")) {
            if (line.startsWith(field + ":")) {
                return Long.parseUnsignedLong(line.substring(field.length() + 1).strip(), 16);
            }
        }
        throw new AssertionError("no " + field + " in /proc/self/status: " + status);
    }

    private static String started(io.pvecri.proto.cri.v1.ContainerConfig.Builder config) {
        String id = pod.start(config);
        pods.awaitState(id, ContainerState.CONTAINER_RUNNING);
        return id;
    }

    @Test
    void defaultCapabilitiesAreTheContainerdSet() {
        String id = started(pods.sleeper("caps-default"));
        long bounding = capMask(id, "CapBnd");
        assertTrue((bounding & CHOWN) != 0, "CAP_CHOWN is in the default set");
        assertTrue((bounding & NET_RAW) != 0, "CAP_NET_RAW is in the default set");
        assertEquals(0, bounding & SYS_ADMIN, "CAP_SYS_ADMIN is not in the default set");
        assertEquals(0, bounding & NET_ADMIN, "CAP_NET_ADMIN is not in the default set");
        assertEquals(bounding, capMask(id, "CapEff"), "root's effective set equals its bounding set");
    }

    @Test
    void addedAndDroppedCapabilitiesApply() {
        var config = pods.sleeper("caps-changed");
        config.getLinuxBuilder().getSecurityContextBuilder()
                .setCapabilities(Capability.newBuilder().addAddCapabilities("NET_ADMIN").addDropCapabilities("CAP_NET_RAW"));
        String id = started(config);
        long bounding = capMask(id, "CapBnd");
        assertTrue((bounding & NET_ADMIN) != 0, "added NET_ADMIN");
        assertEquals(0, bounding & NET_RAW, "dropped NET_RAW");
    }

    @Test
    void privilegedContainersKeepEveryCapability() {
        var config = pods.sleeper("caps-privileged");
        config.getLinuxBuilder().getSecurityContextBuilder().setPrivileged(true);
        if (daemon.daemon().pve().isPresent()) {
            // PVE CTs are unprivileged (docs/proxmox.md): refused with a message saying so, nothing created.
            var e = GrpcAssertions.assertStatus(io.grpc.Status.Code.INTERNAL, () -> started(config));
            assertTrue(GrpcAssertions.description(e).contains("privileged containers are not supported by the proxmox backend"),
                    GrpcAssertions.description(e));
            return;
        }
        String id = started(config);
        assertTrue((capMask(id, "CapBnd") & SYS_ADMIN) != 0, "privileged has CAP_SYS_ADMIN");
    }

    @Test
    void noNewPrivsIsSet() {
        var config = pods.sleeper("nnp");
        config.getLinuxBuilder().getSecurityContextBuilder().setNoNewPrivs(true);
        String id = started(config);
        assertTrue(pods.execOk(id, "cat", "/proc/self/status").contains("NoNewPrivs:\t1"));
    }

    @Test
    void readOnlyRootfsRefusesWritesButVolumesStayWritable(@TempDir Path volume) throws Exception {
        ownedByContainerRoot(volume);
        var config = pods.sleeper("readonly")
                .addMounts(Mount.newBuilder().setHostPath(volume.toString()).setContainerPath("/data"));
        config.getLinuxBuilder().getSecurityContextBuilder().setReadonlyRootfs(true);
        String id = started(config);

        assertNotEquals(0, pods.exec(id, "touch", "/should-fail").getExitCode(), "the root filesystem is read-only");
        assertEquals(0, pods.exec(id, "sh", "-c", "echo kept > /data/file").getExitCode(), "a volume stays writable");
        assertEquals("kept\n", Files.readString(volume.resolve("file")));
    }

    @Test
    void readOnlyMountsAreReadOnlyAndWritableMountsShareFilesWithTheHost(@TempDir Path host) throws Exception {
        Files.writeString(host.resolve("from-host"), "hello\n");
        ownedByContainerRoot(host);
        var config = pods.sleeper("mounts")
                .addMounts(Mount.newBuilder().setHostPath(host.toString()).setContainerPath("/ro").setReadonly(true))
                .addMounts(Mount.newBuilder().setHostPath(host.toString()).setContainerPath("/rw"));
        String id = started(config);

        assertEquals("hello\n", pods.execOk(id, "cat", "/ro/from-host"));
        assertNotEquals(0, pods.exec(id, "touch", "/ro/nope").getExitCode(), "read-only mount refuses writes");
        assertEquals(0, pods.exec(id, "touch", "/rw/yes").getExitCode());
        assertTrue(Files.exists(host.resolve("yes")));
        assertEquals(2, pods.status(id).getMountsCount(), "ContainerStatus reports the mounts");
    }

    /** On the proxmox backend CT root is host uid 100000 (unprivileged CTs): a writable volume must be its. */
    private static void ownedByContainerRoot(Path dir) throws java.io.IOException {
        if (daemon.daemon().pve().isPresent()) {
            Files.setAttribute(dir, "unix:uid", 100_000);
        }
    }

    @Test
    void runtimeDefaultSeccompFiltersTheProcess() {
        var config = pods.sleeper("seccomp");
        config.getLinuxBuilder().getSecurityContextBuilder()
                .setSeccomp(SecurityProfile.newBuilder().setProfileType(SecurityProfile.ProfileType.RuntimeDefault));
        String id = started(config);
        assertTrue(pods.execOk(id, "cat", "/proc/self/status").contains("Seccomp:\t2"), "exec'd processes are filtered too");
        var unconfined = started(pods.sleeper("unconfined"));
        assertTrue(pods.execOk(unconfined, "cat", "/proc/self/status").contains("Seccomp:\t0"), "no profile, no filter");
    }

    @Test
    void maskedAndReadonlyPathsApply() {
        var config = pods.sleeper("paths");
        config.getLinuxBuilder().getSecurityContextBuilder()
                .addMaskedPaths("/etc/group").addMaskedPaths("/root").addMaskedPaths("/proc/does-not-exist")
                .addReadonlyPaths("/tmp");
        String id = started(config);
        assertEquals("", pods.execOk(id, "cat", "/etc/group"), "a masked file reads as /dev/null");
        assertEquals("", pods.execOk(id, "ls", "-A", "/root"), "a masked directory is empty");
        assertNotEquals(0, pods.exec(id, "touch", "/tmp/x").getExitCode(), "a read-only path refuses writes");
    }
}
