package io.pvecri.network;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** IPAM without namespaces. */
class AddressAllocatorTest {
    @TempDir
    Path dir;
    final MutableClock clock = new MutableClock();

    private static AddressAllocator.Pool pool(String cidr) throws Exception {
        Subnet s = Subnet.parse(cidr);
        return new AddressAllocator.Pool(s, s.firstHost());
    }

    private AddressAllocator allocator(Duration retention) throws Exception {
        return new AddressAllocator(LeaseStore.load(dir), retention, clock);
    }

    private static String ip(AddressAllocator.Allocation a) {
        return IpLiterals.format(a.addresses().getFirst());
    }

    @Test
    void skipsNetworkGatewayAndBroadcastAndDoesNotReuseAtOnce() throws Exception {
        AddressAllocator a = allocator(Duration.ofHours(24));
        List<AddressAllocator.Pool> p = List.of(pool("192.168.7.0/29"));
        assertEquals("192.168.7.2", ip(a.allocate("a", null, p)));
        assertEquals("192.168.7.3", ip(a.allocate("b", null, p)));
        assertEquals("192.168.7.2", ip(a.allocate("a", null, p)), "idempotent per pod");
        a.release("a");
        assertEquals("192.168.7.4", ip(a.allocate("c", null, p)), "continues after the cursor");
        assertEquals("192.168.7.5", ip(a.allocate("d", null, p)));
        assertEquals("192.168.7.6", ip(a.allocate("e", null, p)));
        assertEquals("192.168.7.2", ip(a.allocate("f", null, p)), "wraps to the freed address");
        var ex = assertThrows(NetworkException.AddressExhausted.class, () -> a.allocate("g", null, p));
        assertTrue(ex.getMessage().contains("5 usable, 5 in use"), ex.getMessage());
    }

    @Test
    void configuredGatewayIsExcluded() throws Exception {
        AddressAllocator a = allocator(Duration.ZERO);
        Subnet s = Subnet.parse("10.0.0.0/30");
        var p = List.of(new AddressAllocator.Pool(s, IpLiterals.parse("10.0.0.2")));
        assertEquals("10.0.0.1", ip(a.allocate("a", null, p)));
        assertThrows(NetworkException.AddressExhausted.class, () -> a.allocate("b", null, p));
    }

    @Test
    void leasesSurviveReload() throws Exception {
        AddressAllocator a = allocator(Duration.ofHours(24));
        var p = List.of(pool("10.1.0.0/24"), pool("fd00:1::/64"));
        var first = a.allocate("a", "ns/web-0", p);
        assertEquals(List.of("10.1.0.2", "fd00:1::2"), first.addresses().stream().map(IpLiterals::format).toList());
        assertTrue(first.stable());
        AddressAllocator b = allocator(Duration.ofHours(24));
        assertEquals(List.of("10.1.0.3", "fd00:1::3"), b.allocate("b", null, p).addresses().stream().map(IpLiterals::format).toList());
        assertTrue(Files.readString(dir.resolve(LeaseStore.FILE)).contains("ns/web-0"));
        assertFalse(Files.list(dir).anyMatch(f -> f.getFileName().toString().contains(".tmp")), "no temp files left");
    }

    @Test
    void stableLeaseIsKeptForTheRetentionThenFreed() throws Exception {
        AddressAllocator a = allocator(Duration.ofHours(1));
        var p = List.of(pool("10.2.0.0/24"));
        String first = ip(a.allocate("pod1", "db/db-0", p));
        a.release("pod1");
        assertEquals(1, a.leaseCount());
        assertNotEquals(first, ip(a.allocate("x", null, p)));
        var again = a.allocate("pod2", "db/db-0", p);
        assertEquals(first, ip(again));
        assertTrue(again.stable());
        var busy = a.allocate("pod3", "db/db-0", p);
        assertFalse(busy.stable(), "held by a live pod: fresh address");
        assertNotEquals(first, ip(busy));
        a.release("pod2");
        clock.advance(Duration.ofMinutes(59));
        assertEquals(first, ip(a.allocate("pod4", "db/db-0", p)));
        a.release("pod4");
        clock.advance(Duration.ofMinutes(61));
        a.release("nobody"); // any commit prunes
        assertEquals(2, a.leaseCount(), "x and pod3 remain; the stable lease expired");
    }

    @Test
    void zeroRetentionKeepsForever() throws Exception {
        AddressAllocator a = allocator(Duration.ZERO);
        var p = List.of(pool("10.3.0.0/24"));
        String first = ip(a.allocate("p1", "a/b", p));
        a.release("p1");
        clock.advance(Duration.ofDays(3650));
        assertEquals(first, ip(a.allocate("p2", "a/b", p)));
    }

    @Test
    void concurrentAllocationsAreDistinct() throws Exception {
        AddressAllocator a = allocator(Duration.ZERO);
        var p = List.of(pool("10.4.0.0/22"));
        List<Future<AddressAllocator.Allocation>> fs = new ArrayList<>();
        try (ExecutorService ex = Executors.newFixedThreadPool(16)) {
            for (int i = 0; i < 200; i++) {
                String id = "pod" + i;
                fs.add(ex.submit(() -> a.allocate(id, null, p)));
            }
        }
        Set<String> ips = new HashSet<>();
        for (var f : fs) {
            ips.add(ip(f.get()));
        }
        assertEquals(200, ips.size());
        assertEquals(200, allocator(Duration.ZERO).leaseCount(), "all persisted");
    }

    @Test
    void hugeIpv6RangeIsCheap() throws Exception {
        AddressAllocator a = allocator(Duration.ZERO);
        var p = List.of(pool("fd00::/48"));
        for (int i = 0; i < 50; i++) {
            a.allocate("p" + i, null, p);
        }
        assertEquals(50, a.leaseCount());
    }
}
