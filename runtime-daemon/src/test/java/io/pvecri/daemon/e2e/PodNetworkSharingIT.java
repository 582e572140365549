package io.pvecri.daemon.e2e;

import io.pvecri.daemon.e2e.Pods.Pod;
import io.pvecri.proto.cri.v1.ContainerState;
import io.pvecri.proto.cri.v1.ExecSyncResponse;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

import java.nio.file.Path;
import java.time.Duration;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;

/** Containers of one pod share its network namespace; other pods do not. */
class PodNetworkSharingIT {
    @RegisterExtension
    static final DaemonExtension daemon = new DaemonExtension();

    private static final String SERVE_HELLO_ON_LOCALHOST =
            "mkdir -p /www && echo hello > /www/index.html && exec httpd -f -p 127.0.0.1:8080 -h /www";
    private static final String URL = "http://127.0.0.1:8080/index.html";
    /** A fetch of {@link #URL}. (No {@code -T}: busybox 1.35's wget segfaults with it.) */
    private static final String[] FETCH = {"wget", "-q", "-O", "-", URL};

    private static Pods pods;
    private static Pod pod;
    private static String server;
    private static String client;

    @BeforeAll
    static void startServerAndClientInOnePod() {
        pods = daemon.pods();
        pod = pods.run(pods.sandbox("net").setHostname("shared-host"));
        server = pod.start(pods.shell("server", SERVE_HELLO_ON_LOCALHOST));
        client = pod.start(pods.sleeper("client"));
        pods.awaitState(server, ContainerState.CONTAINER_RUNNING);
        pods.awaitState(client, ContainerState.CONTAINER_RUNNING);
    }

    @Test
    void containerReachesItsPodMateOverLocalhost() {
        String body = Wait.forValue("the client to fetch " + URL + " from the server", Duration.ofSeconds(20),
                () -> pods.exec(client, 10, FETCH),
                r -> r.getExitCode() == 0).getStdout().toStringUtf8();

        assertEquals("hello\n", body);
    }

    @Test
    void containersOfAPodShareOneNetworkNamespaceOfTheirOwn() {
        Path lxcPath = daemon.daemon().lxcPath();
        String serverNet = Host.netNamespace(Host.requireInitPid(lxcPath, daemon.daemon().lxcName(server)));
        String clientNet = Host.netNamespace(Host.requireInitPid(lxcPath, daemon.daemon().lxcName(client)));

        assertEquals(serverNet, clientNet, "both containers' init processes are in the pod's network namespace");
        assertNotEquals(Host.netNamespace(ProcessHandle.current().pid()), serverNet,
                "the pod must not use the host's network namespace");
    }

    @Test
    void containerOfAnotherPodCannotReachThePodsLocalhost() {
        Pod other = pods.run("othernet");
        String outsider = other.start(pods.sleeper("outsider"));
        // Make sure the server is up before concluding anything from a failure.
        Wait.until("the server to answer inside its pod", Duration.ofSeconds(20),
                () -> pods.exec(client, 10, FETCH).getExitCode() == 0);

        ExecSyncResponse r = pods.exec(outsider, 10, FETCH);

        assertNotEquals(0, r.getExitCode(), () -> "another pod reached the server: " + r.getStdout().toStringUtf8());
        assertNotEquals(Host.netNamespace(Host.requireInitPid(daemon.daemon().lxcPath(), daemon.daemon().lxcName(outsider))),
                Host.netNamespace(Host.requireInitPid(daemon.daemon().lxcPath(), daemon.daemon().lxcName(client))));
    }

    @Test
    void containersSeeThePodHostname() {
        assertEquals("shared-host\n", pods.execOk(client, "hostname"));
        assertEquals("shared-host\n", pods.execOk(server, "hostname"));
    }
}
