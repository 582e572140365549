package io.pvecri.network;

import org.junit.jupiter.api.Test;

import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Isolation groups: own bridge per group, no forwarding between bridges, anti-spoofing per port. */
class IsolationGroupTest extends NetTestSupport {

    private static Map<String, String> group(String g) {
        return Map.of(PodNetworkRequest.NETWORK_GROUP_ANNOTATION, g);
    }

    @Test
    void groupsCannotReachEachOtherOrTheDefaultBridge() throws Exception {
        PodNetworks nets = open(config().build());
        Path plain = ns.pod("plain");
        Path red1 = ns.pod("red1");
        Path red2 = ns.pod("red2");
        Path blue = ns.pod("blue");
        String plainId = newPodId();
        String red1Id = newPodId();
        String red2Id = newPodId();
        String blueId = newPodId();
        NetworkStatus sPlain = nets.setUp(request(plainId, "plain", plain));
        NetworkStatus sRed1 = nets.setUp(request(red1Id, "red1", red1, Map.of(), group("red"), List.of()));
        NetworkStatus sRed2 = nets.setUp(request(red2Id, "red2", red2, Map.of(), group("red"), List.of()));
        NetworkStatus sBlue = nets.setUp(request(blueId, "blue", blue, Map.of(), group("blue"), List.of()));

        String redBridge = InterfaceNames.groupBridge("red");
        assertTrue(redBridge.length() <= 15);
        assertTrue(Netnses.ok(ns.host(), "ip", "link", "show", "pvc" + red1Id.substring(0, 8)).contains("master " + redBridge));

        assertTrue(Netnses.ping(red1, sRed2.ip()), "same group");
        assertTrue(Netnses.ping(red1, "10.88.0.1"), "group pod -> its gateway");
        assertTrue(Netnses.ping(ns.host(), sRed1.ip()), "host -> group pod");
        assertFalse(Netnses.ping(red1, sBlue.ip()), "red -> blue");
        assertFalse(Netnses.ping(red1, sPlain.ip()), "red -> default");
        assertFalse(Netnses.ping(plain, sRed1.ip()), "default -> red");

        // Even with a route through the gateway (routed, not L2), the forward rule drops it.
        Netnses.ok(red1, "ip", "route", "add", sBlue.ip() + "/32", "via", "10.88.0.1");
        Netnses.ok(red1, "ip", "route", "add", sPlain.ip() + "/32", "via", "10.88.0.1");
        assertFalse(Netnses.ping(red1, sBlue.ip()), "red -> blue via gateway");
        assertFalse(Netnses.ping(red1, sPlain.ip()), "red -> default via gateway");
        assertTrue(isolationDrops() >= 2, nftTable("inet", "pvecri"));

        // Anti-spoofing: a pod that changes its IP or MAC is dropped at its bridge port.
        assertTrue(Netnses.ping(red2, sRed1.ip()));
        Netnses.ok(red2, "ip", "addr", "add", "10.88.0.200/24", "dev", "eth0");
        assertFalse(Netnses.in(red2, "busybox", "ping", "-c", "1", "-W", "1", "-I", "10.88.0.200", sRed1.ip()).ok(),
                "spoofed source IP");
        Netnses.ok(red2, "ip", "link", "set", "eth0", "address", "02:00:00:00:00:99");
        assertFalse(Netnses.ping(red2, sRed1.ip()), "spoofed MAC");

        // The group bridge goes with its last pod; the default bridge stays.
        assertEquals(List.of(), nets.tearDown(red1Id));
        assertTrue(hostLinks().contains(redBridge));
        assertEquals(List.of(), nets.tearDown(red2Id));
        assertFalse(hostLinks().contains(redBridge));
        assertEquals(List.of(), nets.tearDown(blueId));
        assertEquals(List.of(), nets.tearDown(plainId));
        assertFalse(hostLinks().contains(InterfaceNames.GROUP_BRIDGE_PREFIX));
        assertTrue(hostLinks().contains("pvctest0"));
    }

    private long isolationDrops() throws Exception {
        long n = 0;
        Matcher m = Pattern.compile("counter packets (\\d+) bytes \\d+ drop comment \"isolation\"").matcher(nftTable("inet", "pvecri"));
        while (m.find()) {
            n += Long.parseLong(m.group(1));
        }
        return n;
    }
}
