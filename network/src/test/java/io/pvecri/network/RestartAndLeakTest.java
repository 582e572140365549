package io.pvecri.network;

import org.junit.jupiter.api.Test;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Daemon restarts (close + open + reconcile) and a setUp/tearDown leak check. */
class RestartAndLeakTest extends NetTestSupport {

    @Test
    void restartKeepsLeasesAndRulesAndReconcileCleansTheDead() throws Exception {
        NetworkConfig cfg = config().build();
        PodNetworks first = open(cfg);
        Path live = ns.pod("live");
        Path dead = ns.pod("dead");
        Path redPod = ns.pod("red");
        String liveId = newPodId();
        String deadId = newPodId();
        String redId = newPodId();
        NetworkStatus sLive = first.setUp(request(liveId, "live", live, Map.of(), Map.of(), List.of(PortMapping.tcp(80, 18080))));
        NetworkStatus sDead = first.setUp(request(deadId, "dead", dead, Map.of(), Map.of(), List.of(PortMapping.tcp(80, 18081))));
        first.setUp(request(redId, "red", redPod, Map.of(), Map.of(PodNetworkRequest.NETWORK_GROUP_ANNOTATION, "red"), List.of()));
        ns.httpd(live, 80, "still here", tmp.resolve("www"));
        String rulesBefore = nftTable("inet", "pvecri");
        first.close();

        PodNetworks second = open(cfg);
        assertEquals(sLive, second.status(liveId).orElseThrow());
        assertEquals(sDead, second.status(deadId).orElseThrow());
        assertEquals(3, second.leaseCount());
        assertEquals(rulesBefore, nftTable("inet", "pvecri"), "rules untouched by close/open");
        assertEquals("still here", Netnses.get(ns.host(), "http://127.0.0.1:18080/index.html"));

        // An orphan veth on our bridge (e.g. a crash between link creation and record) goes too.
        Netnses.ok(ns.host(), "ip", "link", "add", "pvcdeadbeef", "type", "veth", "peer", "name", "orphanpeer");
        Netnses.ok(ns.host(), "ip", "link", "set", "pvcdeadbeef", "master", "pvctest0");
        // A foreign veth (not ours) stays.
        Netnses.ok(ns.host(), "ip", "link", "add", "foreign0", "type", "veth", "peer", "name", "foreign1");

        assertEquals(List.of(), second.reconcile(Set.of(liveId)));
        assertTrue(second.status(deadId).isEmpty());
        assertTrue(second.status(redId).isEmpty());
        assertEquals(1, second.leaseCount());
        String links = hostLinks();
        assertFalse(links.contains("pvc" + deadId.substring(0, 8)));
        assertFalse(links.contains("pvcdeadbeef"));
        assertFalse(links.contains(InterfaceNames.groupBridge("red")), "empty group bridge removed");
        assertTrue(links.contains("foreign0"));
        String rules = nftTable("inet", "pvecri");
        assertTrue(rules.contains(liveId) && !rules.contains(deadId), rules);
        assertEquals("still here", Netnses.get(ns.host(), "http://127.0.0.1:18080/index.html"));
        assertTrue(Netnses.ping(live, "10.88.0.1"));

        // Rules lost (e.g. someone flushed the ruleset): reconcile of the live set puts them back.
        Netnses.ok(ns.host(), "nft", "flush", "ruleset");
        assertEquals(List.of(), second.reconcile(Set.of(liveId)));
        assertEquals("still here", Netnses.get(ns.host(), "http://127.0.0.1:18080/index.html"));

        // New pods never get a live pod's address.
        NetworkStatus fresh = second.setUp(request(newPodId(), "fresh", dead));
        assertNotEquals(sLive.ip(), fresh.ip());
        second.close();

        PodNetworks third = open(cfg);
        assertEquals(List.of(), third.reconcile(Set.of()));
        assertEquals(0, third.leaseCount());
        assertEquals(Set.of(), third.podIds());
        assertEquals(0, nftRuleCount("pvecri"));
        try (Stream<Path> s = Files.list(stateDir())) {
            assertEquals(List.of(LeaseStore.FILE), s.map(p -> p.getFileName().toString()).toList());
        }
    }

    @Test
    void hundredSetUpTearDownCyclesLeakNothing() throws Exception {
        PodNetworks nets = open(config().build());
        Path pod = ns.pod("cycle");
        Path neighbour = ns.pod("neighbour");
        // the bridge exists and one pod stays, so the baseline includes the steady state
        String stay = newPodId();
        nets.setUp(request(stay, "stay", neighbour, Map.of(), Map.of(), List.of(PortMapping.tcp(80, 18000))));
        int links = hostLinkCount();
        int podLinks = (int) Netnses.ok(pod, "ip", "-o", "link").lines().count();
        int rules = nftRuleCount("pvecri");
        int leases = nets.leaseCount();
        long stateEntries;
        try (Stream<Path> s = Files.list(stateDir())) {
            stateEntries = s.count();
        }
        long deadline = System.nanoTime() + 60_000_000_000L;
        int cycles = 0;
        for (int i = 0; i < 100 && System.nanoTime() < deadline; i++, cycles++) {
            String id = newPodId();
            Map<String, String> ann = i % 10 == 0 ? Map.of(PodNetworkRequest.NETWORK_GROUP_ANNOTATION, "g" + (i % 3)) : Map.of();
            Map<String, String> labels = i % 7 == 0 ? Map.of(PodNetworkRequest.STATEFULSET_POD_NAME_LABEL, "sts-" + (i % 2)) : Map.of();
            NetworkStatus s = nets.setUp(request(id, "cycle-" + i, pod, labels, ann, List.of(PortMapping.tcp(80, 18001),
                    new PortMapping(Protocol.UDP, 53, 18002, null))));
            assertTrue(s.ip().startsWith("10.88.0."));
            assertEquals(List.of(), nets.tearDown(id), "cycle " + i);
        }
        assertEquals(100, cycles, "all cycles within the time bound");
        assertEquals(links, hostLinkCount(), hostLinks());
        assertEquals(podLinks, (int) Netnses.ok(pod, "ip", "-o", "link").lines().count());
        assertEquals(rules, nftRuleCount("pvecri"));
        // StatefulSet leases are kept on purpose (2 names); nothing else stays
        assertEquals(leases + 2, nets.leaseCount());
        try (Stream<Path> s = Files.list(stateDir())) {
            assertEquals(stateEntries, s.count());
        }
        assertEquals(Set.of(stay), nets.podIds());
        assertEquals(List.of(), nets.tearDown(stay));
    }
}
