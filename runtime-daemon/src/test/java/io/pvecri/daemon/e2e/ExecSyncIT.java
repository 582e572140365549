package io.pvecri.daemon.e2e;

import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import io.pvecri.daemon.e2e.Pods.Pod;
import io.pvecri.proto.cri.v1.ContainerState;
import io.pvecri.proto.cri.v1.ExecSyncResponse;
import io.pvecri.proto.cri.v1.Int64Value;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

import java.time.Duration;

import static io.pvecri.daemon.e2e.GrpcAssertions.assertRejected;
import static io.pvecri.daemon.e2e.GrpcAssertions.assertStatus;
import static io.pvecri.daemon.e2e.GrpcAssertions.description;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** ExecSync: output, exit codes, missing commands, timeouts, and the container's env/workdir/user. */
class ExecSyncIT {
    @RegisterExtension
    static final DaemonExtension daemon = new DaemonExtension();

    private static final int APP_UID = 1000;
    private static final int APP_GID = 1000;

    private static Pods pods;
    private static String container;

    @BeforeAll
    static void startContainer() {
        pods = daemon.pods();
        Pod pod = pods.run("exec");
        var config = pods.sleeper("app")
                .addEnvs(Pods.env("GREETING", "hello from config"))
                .setWorkingDir("/etc");
        config.getLinuxBuilder().getSecurityContextBuilder()
                .setRunAsUser(Int64Value.newBuilder().setValue(APP_UID))
                .setRunAsGroup(Int64Value.newBuilder().setValue(APP_GID));
        container = pod.start(config);
        pods.awaitState(container, ContainerState.CONTAINER_RUNNING);
    }

    @Test
    void stdoutAndStderrAreKeptApart() {
        ExecSyncResponse r = pods.exec(container, "sh", "-c", "echo to-out; echo to-err >&2; echo more-out");

        assertEquals(0, r.getExitCode());
        assertEquals("to-out\nmore-out\n", r.getStdout().toStringUtf8());
        assertEquals("to-err\n", r.getStderr().toStringUtf8());
    }

    @Test
    void exitCodeOfTheCommandIsReported() {
        assertEquals(0, pods.exec(container, "true").getExitCode());
        assertEquals(3, pods.exec(container, "sh", "-c", "exit 3").getExitCode());
    }

    @Test
    void largeOutputComesBackWhole() {
        // More than any pipe buffer: a runtime that reads stdout and stderr one after the other hangs.
        String out = pods.execOk(container, "sh", "-c",
                "yes 0123456789abcdef | head -n 20000; yes e | head -n 20000 >&2");

        assertEquals(20000 * 17, out.length());
        assertTrue(out.startsWith("0123456789abcdef\n") && out.endsWith("0123456789abcdef\n"));
    }

    /**
     * containerd fails the RPC (its message carries runc's "executable file not found in $PATH");
     * a runtime that runs commands through a shell reports exit code 127 (126: not executable) and
     * says so on stderr. Either way the kubelet sees a failure naming the command.
     */
    @Test
    void missingCommandFailsNamingTheCommand() {
        String missing = "no-such-command-xyz";
        try {
            ExecSyncResponse r = pods.exec(container, missing);
            assertTrue(r.getExitCode() == 127 || r.getExitCode() == 126,
                    () -> "exit code " + r.getExitCode() + " for a missing command");
            assertTrue(r.getStderr().toStringUtf8().contains(missing),
                    () -> "stderr does not name the command: " + r.getStderr().toStringUtf8());
        } catch (StatusRuntimeException e) {
            assertTrue(e.getStatus().getCode() != Status.Code.DEADLINE_EXCEEDED
                    && e.getStatus().getCode() != Status.Code.UNAVAILABLE, () -> "unexpected " + e.getStatus());
            assertTrue(description(e).contains(missing), () -> "error does not name the command: " + e.getStatus());
        }
    }

    /** containerd kills the process and answers DEADLINE_EXCEEDED; the kubelet relies on that code. */
    @Test
    void commandOutlivingItsTimeoutIsCutOffWithDeadlineExceeded() {
        long start = System.nanoTime();
        assertStatus(Status.Code.DEADLINE_EXCEEDED, () -> pods.exec(container, 1, "sleep", "17"));
        Duration took = Duration.ofNanos(System.nanoTime() - start);

        assertTrue(took.compareTo(Duration.ofSeconds(10)) < 0,
                () -> "ExecSync with timeout 1 took " + took + "; the 17 s command was not cut off");
        // ps must see the container's main process, else an empty listing would prove nothing.
        Wait.until("the timed-out exec process to be killed", Duration.ofSeconds(10), () -> {
            String ps = pods.execOk(container, "ps", "-o", "args");
            return ps.contains("sleep 1000") && !ps.contains("sleep 17");
        });
    }

    @Test
    void execRunsWithTheContainersEnvWorkdirAndUser() {
        assertEquals("hello from config\n", pods.execOk(container, "sh", "-c", "echo \"$GREETING\""));
        assertEquals("/etc\n", pods.execOk(container, "pwd"));
        assertEquals(APP_UID + "\n", pods.execOk(container, "id", "-u"));
        assertEquals(APP_GID + "\n", pods.execOk(container, "id", "-g"));
    }

    @Test
    void mainProcessRunsAsTheConfiguredUser() {
        String psOut = pods.execOk(container, "ps", "-o", "user,args");

        assertTrue(psOut.lines().anyMatch(l -> l.contains("sleep 1000") && l.strip().startsWith("app")),
                () -> "sleep 1000 should run as user app (1000): " + psOut);
    }

    @Test
    void execInAStoppedContainerIsRejected() {
        Pod pod = pods.run("execstopped");
        String stopped = pod.start(pods.sleeper("gone"));
        pods.stop(stopped, 0);

        assertRejected(() -> pods.exec(stopped, "true"));
    }
}
