package io.pvecri.daemon.e2e;

import io.grpc.Status;
import io.pvecri.daemon.e2e.Pods.Pod;
import io.pvecri.proto.cri.v1.Capability;
import io.pvecri.proto.cri.v1.ContainerConfig;
import io.pvecri.proto.cri.v1.ContainerState;
import io.pvecri.proto.cri.v1.ExecSyncResponse;
import io.pvecri.proto.cri.v1.Int64Value;
import io.pvecri.proto.cri.v1.SecurityProfile;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.Collectors;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Localhost seccomp profiles (JSON files on the node, as kubelet passes them) compiled by the
 * daemon and installed by the shim, checked by what the kernel does to the container's calls: the
 * profiles critest uses, argument conditions, an allow-list with a default errno, the late install
 * under no_new_privs, a profile read once at create, and bad profiles refused with nothing created.
 */
class SeccompLocalhostIT {
    @RegisterExtension
    static final DaemonExtension daemon = new DaemonExtension();

    @TempDir
    static Path profiles;

    private static Pods pods;
    private static Pod pod;

    @BeforeAll
    static void pod() {
        pods = daemon.pods();
        pod = pods.run("seccomp-lh");
    }

    private static Path profile(String name, String json) throws IOException {
        return Files.writeString(profiles.resolve(name), json);
    }

    private static ContainerConfig.Builder withProfile(ContainerConfig.Builder config, Path profile) {
        config.getLinuxBuilder().getSecurityContextBuilder().setSeccomp(SecurityProfile.newBuilder()
                .setProfileType(SecurityProfile.ProfileType.Localhost).setLocalhostRef(profile.toString()));
        return config;
    }

    private static String running(ContainerConfig.Builder config) {
        String id = pod.start(config);
        pods.awaitState(id, ContainerState.CONTAINER_RUNNING);
        return id;
    }

    private static String stderr(ExecSyncResponse r) {
        return r.getStderr().toStringUtf8() + r.getStdout().toStringUtf8();
    }

    /** critest's "block-chmod.json". */
    private static final String BLOCK_CHMOD = """
            {"defaultAction": "SCMP_ACT_ALLOW",
             "syscalls": [{"names": ["chmod", "fchmodat"], "action": "SCMP_ACT_ERRNO"}]}""";

    @Test
    void theMainProcessAndExecdProcessesRunUnderTheProfile() throws IOException {
        Path p = profile("block-chmod.json", BLOCK_CHMOD);
        String id = running(withProfile(pods.shell("chmod-main",
                "chmod 400 /tmp 2>/tmp/err; grep Seccomp: /proc/self/status > /tmp/status; exec sleep 100000"), p));

        Wait.until("the main process ran its checks", Wait.STATE_CHANGE, () -> pods.exec(id, "cat", "/tmp/status").getExitCode() == 0);
        assertTrue(pods.execOk(id, "cat", "/tmp/err").contains("Operation not permitted"), "the main process is filtered");
        assertTrue(pods.execOk(id, "cat", "/tmp/status").contains("Seccomp:\t2"));

        ExecSyncResponse chmod = pods.exec(id, "chmod", "400", "/");
        assertNotEquals(0, chmod.getExitCode());
        assertTrue(stderr(chmod).contains("Operation not permitted"), stderr(chmod));
        assertTrue(pods.execOk(id, "cat", "/proc/self/status").contains("Seccomp:\t2"), "exec'd processes are filtered");
        assertEquals(0, pods.exec(id, "touch", "/tmp/other-calls-work").getExitCode());
    }

    @Test
    void aProfileBlocksSethostnameEvenWithSysAdmin() throws IOException {
        // critest: "runtime should support an seccomp profile that blocks setting hostname with SYS_ADMIN".
        Path p = profile("block-hostname.json", """
                {"defaultAction": "SCMP_ACT_ALLOW", "syscalls": [{"names": ["sethostname"], "action": "SCMP_ACT_ERRNO"}]}""");
        var config = withProfile(pods.sleeper("hostname"), p);
        config.getLinuxBuilder().getSecurityContextBuilder().setCapabilities(Capability.newBuilder().addAddCapabilities("SYS_ADMIN"));
        String id = running(config);
        ExecSyncResponse r = pods.exec(id, "hostname", "renamed");
        assertNotEquals(0, r.getExitCode());
        assertTrue(stderr(r).contains("Operation not permitted"), stderr(r));
    }

    @Test
    void argumentConditionsSelectTheCallsTheRuleApplies() throws IOException {
        // No setuid/setgid bits (mode & 06000 != 0), and kill with signal 0 answered with EOPNOTSUPP.
        Path p = profile("args.json", """
                {"defaultAction": "SCMP_ACT_ALLOW",
                 "syscalls": [
                   {"names": ["chmod"], "action": "SCMP_ACT_ERRNO",
                    "args": [{"index": 1, "value": 2048, "valueTwo": 2048, "op": "SCMP_CMP_MASKED_EQ"}]},
                   {"names": ["chmod"], "action": "SCMP_ACT_ERRNO",
                    "args": [{"index": 1, "value": 1024, "valueTwo": 1024, "op": "SCMP_CMP_MASKED_EQ"}]},
                   {"names": ["kill"], "action": "SCMP_ACT_ERRNO", "errnoRet": 95,
                    "args": [{"index": 1, "value": 0, "op": "SCMP_CMP_EQ"}]}
                 ]}""");
        String id = running(withProfile(pods.sleeper("args"), p));
        pods.execOk(id, "touch", "/tmp/f");
        assertEquals(0, pods.exec(id, "chmod", "755", "/tmp/f").getExitCode(), "plain modes are allowed");
        ExecSyncResponse setuid = pods.exec(id, "chmod", "4755", "/tmp/f");
        assertNotEquals(0, setuid.getExitCode(), "the setuid bit is refused");
        assertTrue(stderr(setuid).contains("Operation not permitted"), stderr(setuid));
        assertNotEquals(0, pods.exec(id, "chmod", "2755", "/tmp/f").getExitCode(), "the setgid bit is refused");

        ExecSyncResponse probe = pods.exec(id, "sh", "-c", "kill -0 $$");
        assertNotEquals(0, probe.getExitCode());
        assertTrue(stderr(probe).contains("not supported"), "errnoRet 95 is EOPNOTSUPP: " + stderr(probe));
        assertEquals(0, pods.exec(id, "sh", "-c", "kill -CONT $$").getExitCode(), "other signals pass");
    }

    @Test
    void anAllowListWithADefaultErrnoTakesEveryCallItDoesNotName() throws IOException {
        // Every x86_64 call but mkdir/mkdirat allowed (about 380 rules), everything else EACCES.
        List<String> names = new ArrayList<>();
        try (InputStream in = io.pvecri.daemon.seccomp.LocalhostProfile.class.getResourceAsStream("syscalls-x86_64.txt")) {
            for (String line : new String(in.readAllBytes(), StandardCharsets.US_ASCII).split("\n")) {
                String name = line.split(" ")[0];
                if (!line.startsWith("#") && !line.isBlank() && !name.equals("mkdir") && !name.equals("mkdirat")) {
                    names.add("\"" + name + "\"");
                }
            }
        }
        Path p = profile("allow-list.json", """
                {"defaultAction": "SCMP_ACT_ERRNO", "defaultErrnoRet": 13,
                 "architectures": ["SCMP_ARCH_X86_64", "SCMP_ARCH_X86", "SCMP_ARCH_X32"],
                 "syscalls": [{"names": [%s], "action": "SCMP_ACT_ALLOW"}]}""".formatted(names.stream().collect(Collectors.joining(","))));
        String id = running(withProfile(pods.sleeper("allow-list"), p));
        ExecSyncResponse mkdir = pods.exec(id, "mkdir", "/tmp/d");
        assertNotEquals(0, mkdir.getExitCode());
        assertTrue(stderr(mkdir).contains("Permission denied"), "defaultErrnoRet 13 is EACCES: " + stderr(mkdir));
        assertEquals(0, pods.exec(id, "touch", "/tmp/allowed").getExitCode());
    }

    @Test
    void withNoNewPrivsTheFilterIsInstalledAfterTheUserSwitch() throws IOException {
        // The profile denies the calls the shim itself makes to switch users; installed last (as
        // runc does under no_new_privs), it does not stop the container from starting as uid 1000.
        Path p = profile("no-id-changes.json", """
                {"defaultAction": "SCMP_ACT_ALLOW",
                 "syscalls": [{"names": ["setgroups", "setresgid", "setresuid", "setgid", "setuid", "capset"],
                               "action": "SCMP_ACT_ERRNO"}]}""");
        var config = withProfile(pods.sleeper("nnp-late"), p);
        config.getLinuxBuilder().getSecurityContextBuilder().setNoNewPrivs(true).setRunAsUser(Int64Value.newBuilder().setValue(1000));
        String id = running(config);
        assertEquals("1000", pods.execOk(id, "id", "-u").strip());
        String status = pods.execOk(id, "cat", "/proc/self/status");
        assertTrue(status.contains("Seccomp:\t2") && status.contains("NoNewPrivs:\t1"), status);
    }

    @Test
    void withoutNoNewPrivsTheSameProfileStopsTheStartWithAReason() throws IOException {
        Path p = profile("no-id-changes-early.json", """
                {"defaultAction": "SCMP_ACT_ALLOW",
                 "syscalls": [{"names": ["setgroups", "setresgid", "setresuid", "setgid", "setuid"], "action": "SCMP_ACT_ERRNO"}]}""");
        var config = withProfile(pods.sleeper("early"), p);
        config.getLinuxBuilder().getSecurityContextBuilder().setRunAsUser(Int64Value.newBuilder().setValue(1000));
        String id = pod.create(config);
        try {
            pods.start(id);
        } catch (io.grpc.StatusRuntimeException expected) {
            // StartContainer reports the start error (FailedPrecondition); the status keeps it.
        }
        var status = pods.awaitState(id, ContainerState.CONTAINER_EXITED);
        assertEquals("StartError", status.getReason(), status.toString());
        assertTrue(status.getMessage().contains("setgroups: operation not permitted"), status.getMessage());
    }

    @Test
    void theProfileIsReadOnceAtCreate() throws IOException {
        Path p = profile("read-at-create.json", BLOCK_CHMOD);
        String id = pod.create(withProfile(pods.sleeper("read-once"), p));
        Files.delete(p);
        pods.start(id);
        pods.awaitState(id, ContainerState.CONTAINER_RUNNING);
        assertNotEquals(0, pods.exec(id, "chmod", "400", "/").getExitCode(), "the compiled filter stayed with the container");
    }

    @Test
    void theDeprecatedProfilePathFormWorks() throws IOException {
        Path p = profile("deprecated.json", BLOCK_CHMOD);
        var config = pods.sleeper("deprecated-path");
        config.getLinuxBuilder().getSecurityContextBuilder().setSeccompProfilePath("localhost/" + p);
        String id = running(config);
        assertNotEquals(0, pods.exec(id, "chmod", "400", "/").getExitCode());
    }

    @Test
    void privilegedContainersIgnoreTheProfile() throws IOException {
        // critest: "runtime should ignore a seccomp profile that blocks setting hostname when privileged".
        if (daemon.daemon().pve().isPresent()) {
            return; // privileged containers are refused by the proxmox backend (SecurityContextIT)
        }
        Path p = profile("ignored.json", BLOCK_CHMOD);
        var config = withProfile(pods.sleeper("privileged-profile"), p);
        config.getLinuxBuilder().getSecurityContextBuilder().setPrivileged(true);
        String id = running(config);
        assertTrue(pods.execOk(id, "cat", "/proc/self/status").contains("Seccomp:\t0"));
    }

    @Test
    void badProfilesAreRefusedAndCreateNothing() throws IOException {
        int before = pods.listContainers(Pods.containerFilter()).size();
        Path missing = profiles.resolve("missing.json");
        var e = GrpcAssertions.assertStatus(Status.Code.INVALID_ARGUMENT,
                () -> pod.create(withProfile(pods.sleeper("bad-missing"), missing)));
        assertTrue(GrpcAssertions.description(e).contains(missing + " does not exist"), GrpcAssertions.description(e));

        Path typo = profile("typo.json", """
                {"defaultAction": "SCMP_ACT_ALLOW", "syscall": [{"names": ["chmod"], "action": "SCMP_ACT_ERRNO"}]}""");
        e = GrpcAssertions.assertStatus(Status.Code.INVALID_ARGUMENT, () -> pod.create(withProfile(pods.sleeper("bad-typo"), typo)));
        assertTrue(GrpcAssertions.description(e).contains("unknown field 'syscall'"), GrpcAssertions.description(e));

        Path action = profile("action.json", """
                {"defaultAction": "SCMP_ACT_ALLOW", "syscalls": [{"names": ["chmod"], "action": "SCMP_ACT_DENY"}]}""");
        e = GrpcAssertions.assertStatus(Status.Code.INVALID_ARGUMENT, () -> pod.create(withProfile(pods.sleeper("bad-action"), action)));
        assertTrue(GrpcAssertions.description(e).contains("syscalls[0].action 'SCMP_ACT_DENY' is not a seccomp action"),
                GrpcAssertions.description(e));

        var relative = pods.sleeper("bad-relative");
        relative.getLinuxBuilder().getSecurityContextBuilder().setSeccomp(SecurityProfile.newBuilder()
                .setProfileType(SecurityProfile.ProfileType.Localhost).setLocalhostRef("profiles/../x.json"));
        GrpcAssertions.assertStatus(Status.Code.INVALID_ARGUMENT, () -> pod.create(relative));

        assertEquals(before, pods.listContainers(Pods.containerFilter()).size(), "no container was created");
    }
}
