package io.pvecri.network;

import org.junit.jupiter.api.Test;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** IPAM through the facade: stable StatefulSet identity, exhaustion, concurrency. */
class AddressingTest extends NetTestSupport {

    private static Map<String, String> sts(String name) {
        return Map.of(PodNetworkRequest.STATEFULSET_POD_NAME_LABEL, name);
    }

    @Test
    void statefulSetPodGetsTheSameIpAndMacAgain() throws Exception {
        PodNetworks nets = open(config().build());
        Path n1 = ns.pod("n1");
        String first = newPodId();
        NetworkStatus s1 = nets.setUp(request(first, "db-0", n1, sts("db-0"), Map.of(), List.of()));
        assertEquals(List.of(), nets.tearDown(first));

        // Others come and go in between, moving the allocation cursor past the freed address.
        Path other = ns.pod("other");
        for (int i = 0; i < 3; i++) {
            String id = newPodId();
            NetworkStatus s = nets.setUp(request(id, "web-" + i, other));
            assertNotEquals(s1.ip(), s.ip(), "kept address is not handed to others");
            nets.tearDown(id);
        }

        Path n2 = ns.pod("n2");
        String second = newPodId();
        NetworkStatus s2 = nets.setUp(request(second, "db-0", n2, sts("db-0"), Map.of(), List.of()));
        assertEquals(s1.ip(), s2.ip());
        assertEquals(s1.mac(), s2.mac());
        assertEquals(MacAddresses.stable("default/db-0"), s2.mac());
        assertTrue(Netnses.ok(n2, "ip", "link", "show", "eth0").contains(s1.mac()));
        assertTrue(Netnses.ping(n2, "10.88.0.1"));

        // Same name in another namespace is another identity.
        Path n3 = ns.pod("n3");
        var req = new PodNetworkRequest(newPodId(), "db-0", "other-ns", "u", sts("db-0"), Map.of(), n3, List.of(), null, null);
        NetworkStatus s3 = nets.setUp(req);
        assertNotEquals(s1.ip(), s3.ip());
        assertNotEquals(s1.mac(), s3.mac());

        // While the stable address is held by a live pod, a second pod of that name gets a fresh one.
        Path n4 = ns.pod("n4");
        NetworkStatus s4 = nets.setUp(request(newPodId(), "db-0", n4, sts("db-0"), Map.of(), List.of()));
        assertNotEquals(s1.ip(), s4.ip());
        assertNotEquals(s1.mac(), s4.mac());
    }

    @Test
    void statefulSetLeaseExpiresAfterRetention() throws Exception {
        var clock = new MutableClock();
        NetworkConfig cfg = config().statefulSetRetention(java.time.Duration.ofHours(1)).build();
        PodNetworks nets = PodNetworks.open(cfg, stateDir(), NetworkListener.NONE, clock);
        opened.add(nets);
        Path n1 = ns.pod("n1");
        String a = newPodId();
        NetworkStatus s1 = nets.setUp(request(a, "db-1", n1, sts("db-1"), Map.of(), List.of()));
        nets.tearDown(a);
        assertEquals(1, nets.leaseCount(), "kept for the retention");
        clock.advance(java.time.Duration.ofMinutes(61));
        String b = newPodId();
        nets.setUp(request(b, "plain", n1));
        nets.tearDown(b);
        assertEquals(0, nets.leaseCount(), "expired lease pruned");
        assertTrue(s1.ip().startsWith("10.88.0."));
    }

    @Test
    void fullRangeGivesAddressExhaustedAndLeavesNothing() throws Exception {
        PodNetworks nets = open(config().cidr("10.88.0.0/29").build());
        List<String> ips = new ArrayList<>();
        for (int i = 0; i < 5; i++) {
            ips.add(nets.setUp(request(newPodId(), "p" + i, ns.pod("x" + i))).ip());
        }
        assertEquals(List.of("10.88.0.2", "10.88.0.3", "10.88.0.4", "10.88.0.5", "10.88.0.6"), ips.stream().sorted().toList());
        int links = hostLinkCount();
        Path last = ns.pod("last");
        String id = newPodId();
        var e = assertThrows(NetworkException.AddressExhausted.class, () -> nets.setUp(request(id, "last", last)));
        assertTrue(e.getMessage().contains("10.88.0.0/29"), e.getMessage());
        assertEquals(links, hostLinkCount());
        assertFalse(nets.podIds().contains(id));
        assertEquals(5, nets.leaseCount());
    }

    @Test
    void twentyParallelSetUpsGetDistinctAddresses() throws Exception {
        PodNetworks nets = open(config().build());
        int n = 20;
        List<Path> netnses = new ArrayList<>();
        List<String> ids = new ArrayList<>();
        for (int i = 0; i < n; i++) {
            netnses.add(ns.pod("par" + i));
            ids.add(newPodId());
        }
        List<Future<NetworkStatus>> futures = new ArrayList<>();
        try (ExecutorService pool = Executors.newFixedThreadPool(n)) {
            for (int i = 0; i < n; i++) {
                int k = i;
                futures.add(pool.submit(() -> nets.setUp(request(ids.get(k), "par-" + k, netnses.get(k), Map.of(), Map.of(),
                        List.of(PortMapping.tcp(80, 20000 + k))))));
            }
            pool.shutdown();
            assertTrue(pool.awaitTermination(60, TimeUnit.SECONDS));
        }
        Set<String> ips = new HashSet<>();
        Set<String> macs = new HashSet<>();
        for (Future<NetworkStatus> f : futures) {
            NetworkStatus s = f.get();
            ips.add(s.ip());
            macs.add(s.mac());
        }
        assertEquals(n, ips.size());
        assertEquals(n, macs.size());
        assertEquals(n, nets.leaseCount());
        assertTrue(Netnses.ping(netnses.get(0), futures.get(n - 1).get().ip()));
        String rules = nftTable("inet", "pvecri");
        for (int i = 0; i < n; i++) {
            assertTrue(rules.contains("tcp dport " + (20000 + i) + " "), "rule of pod " + i);
        }
        try (ExecutorService pool = Executors.newFixedThreadPool(n)) {
            List<Future<List<String>>> downs = new ArrayList<>();
            for (String id : ids) {
                downs.add(pool.submit(() -> nets.tearDown(id)));
            }
            for (Future<List<String>> d : downs) {
                assertEquals(List.of(), d.get(60, TimeUnit.SECONDS));
            }
        }
        assertEquals(0, nets.leaseCount());
        assertEquals(0, nftRuleCount("pvecri"));
    }
}
