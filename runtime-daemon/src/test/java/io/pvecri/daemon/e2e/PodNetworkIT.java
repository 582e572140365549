package io.pvecri.daemon.e2e;

import io.pvecri.daemon.e2e.Pods.Pod;
import io.pvecri.proto.cri.v1.ContainerState;
import io.pvecri.proto.cri.v1.PortMapping;
import io.pvecri.proto.cri.v1.Protocol;
import io.pvecri.proto.cri.v1.RuntimeConfig;
import io.pvecri.proto.cri.v1.StatusRequest;
import io.pvecri.proto.cri.v1.UpdateRuntimeConfigRequest;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

import java.time.Duration;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Pod networking through the CRI socket (bridge mode). The daemon's "host" is a throwaway
 * network namespace the harness made (network.hostNetns), so nothing here touches the
 * machine's real interfaces; every address is inside that namespace's bridge.
 */
class PodNetworkIT {
    @RegisterExtension
    static final DaemonExtension daemon = new DaemonExtension();

    private static String running(Pod pod, Pods pods, String name, String script) {
        String id = pod.start(pods.shell(name, script));
        pods.awaitState(id, ContainerState.CONTAINER_RUNNING);
        return id;
    }

    @Test
    void podsGetAddressesAndReachEachOther() {
        Pods pods = daemon.pods();
        Pod a = pods.run("net-a");
        Pod b = pods.run("net-b");
        String ipA = a.status().getNetwork().getIp();
        String ipB = b.status().getNetwork().getIp();
        assertTrue(ipA.startsWith("10.88."), "pod A has an address from the default range: " + ipA);
        assertNotEquals(ipA, ipB);

        running(a, pods, "server", "echo hello-from-a > /tmp/index.html; httpd -f -p 8080 -h /tmp");
        String client = running(b, pods, "client", "sleep 1000");
        String body = Wait.forValue("pod B fetches from pod A", Duration.ofSeconds(20),
                () -> pods.exec(client, 5, "wget", "-q", "-O", "-", "http://" + ipA + ":8080/index.html").getStdout().toStringUtf8(),
                s -> s.contains("hello-from-a"));
        assertEquals("hello-from-a\n", body);
        assertTrue(pods.execOk(client, "cat", "/etc/hosts").contains(ipB), "/etc/hosts names the pod's own IP");
    }

    @Test
    void hostPortReachesThePodFromTheNode() {
        Pods pods = daemon.pods();
        var config = pods.sandbox("hostport").addPortMappings(PortMapping.newBuilder()
                .setProtocol(Protocol.TCP).setContainerPort(8080).setHostPort(18080));
        Pod pod = pods.run(config);
        running(pod, pods, "server", "echo via-hostport > /tmp/index.html; httpd -f -p 8080 -h /tmp");
        String hostNs = daemon.daemon().hostNetns();

        String body = Wait.forValue("the node reaches the pod through hostPort 18080", Duration.ofSeconds(20),
                () -> Host.run(Duration.ofSeconds(10), List.of("ip", "netns", "exec", hostNs, "busybox", "wget", "-q", "-O", "-",
                        "http://127.0.0.1:18080/index.html")).stdout(),
                s -> s.contains("via-hostport"));
        assertEquals("via-hostport\n", body);
    }

    @Test
    void stoppedPodsReleaseTheirAddress() {
        Pods pods = daemon.pods();
        Pod pod = pods.run("release");
        String ip = pod.status().getNetwork().getIp();
        assertFalse(ip.isEmpty());
        pod.stop();
        assertEquals("", pod.status().getNetwork().getIp(), "a stopped pod reports no IP");
        String hostNs = daemon.daemon().hostNetns();
        String links = Host.run(Duration.ofSeconds(10), List.of("ip", "-n", hostNs, "-o", "link")).stdout();
        assertFalse(links.contains("pvc" + pod.id().substring(0, 8)), "the pod's veth is gone: " + links);
    }

    @Test
    void networkIsReportedReadyAndTakesKubeletsPodCidr() {
        Pods pods = daemon.pods();
        var status = pods.runtime().status(StatusRequest.getDefaultInstance()).getStatus();
        assertTrue(status.getConditionsList().stream().anyMatch(c -> c.getType().equals("NetworkReady") && c.getStatus()));
        // Same range as the default: accepted while pods hold addresses.
        pods.runtime().updateRuntimeConfig(UpdateRuntimeConfigRequest.newBuilder().setRuntimeConfig(RuntimeConfig.newBuilder()
                .setNetworkConfig(io.pvecri.proto.cri.v1.NetworkConfig.newBuilder().setPodCidr("10.88.0.0/16"))).build());
    }
}
