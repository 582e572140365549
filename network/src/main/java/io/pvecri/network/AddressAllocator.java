package io.pvecri.network;

import java.math.BigInteger;
import java.net.InetAddress;
import java.time.Clock;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * IPAM over one or two ranges (IPv4, optional IPv6). Hands out each address once (all methods
 * are synchronized and commit before returning), skips network, gateway and IPv4 broadcast
 * addresses, continues after the last address handed out (so a freed address is not reused
 * at once), and keeps StatefulSet addresses for the retention period after release.
 */
final class AddressAllocator {
    private static final System.Logger LOG = System.getLogger(AddressAllocator.class.getName());

    /** One range and its gateway. */
    record Pool(Subnet subnet, InetAddress gateway) {
        boolean excluded(BigInteger offset) {
            return offset.signum() == 0 || offset.equals(subnet.offsetOf(gateway))
                    || (subnet.isV4() && offset.equals(subnet.size().subtract(BigInteger.ONE)));
        }

        BigInteger usable() {
            BigInteger excluded = BigInteger.valueOf(subnet.isV4() ? 3 : 2);
            return subnet.size().subtract(excluded).max(BigInteger.ZERO);
        }
    }

    private final LeaseStore store;
    private final Duration retention;
    private final Clock clock;

    AddressAllocator(LeaseStore store, Duration retention, Clock clock) {
        this.store = store;
        this.retention = retention;
        this.clock = clock;
    }

    /** Addresses handed out, one per pool; {@code stable}: the StatefulSet identity was honoured. */
    record Allocation(List<InetAddress> addresses, boolean stable) {
    }

    /**
     * Addresses for {@code podId}, one per pool in order. Reuses the pod's own active leases
     * (idempotent), a StatefulSet pod's kept lease, else the next free address. When the stable
     * address is still held by another live pod, a fresh one is given and {@code stable} is false.
     */
    synchronized Allocation allocate(String podId, String stableKey, List<Pool> pools)
            throws NetworkException.AddressExhausted, NetworkException.StateError {
        List<LeaseStore.Lease> leases = LeaseStore.mutableCopy(pruned(store.leases()));
        Map<String, String> cursors = LeaseStore.mutableCopy(store.snapshot().cursors());
        List<InetAddress> out = new ArrayList<>();
        boolean[] stable = {stableKey != null};
        for (Pool pool : pools) {
            out.add(allocateIn(pool, podId, stableKey, leases, cursors, stable));
        }
        store.commitLeases(leases, cursors);
        return new Allocation(out, stable[0]);
    }

    private InetAddress allocateIn(Pool pool, String podId, String stableKey,
                                   List<LeaseStore.Lease> leases, Map<String, String> cursors, boolean[] stable)
            throws NetworkException.AddressExhausted {
        Subnet subnet = pool.subnet();
        for (LeaseStore.Lease l : leases) {
            if (l.active() && l.podId().equals(podId) && subnet.contains(IpLiterals.parse(l.ip()))) {
                stable[0] &= stableKey != null && stableKey.equals(l.stableKey());
                return IpLiterals.parse(l.ip());
            }
        }
        String keyForNew = stableKey;
        if (stableKey != null) {
            for (int i = 0; i < leases.size(); i++) {
                LeaseStore.Lease l = leases.get(i);
                if (stableKey.equals(l.stableKey()) && subnet.contains(IpLiterals.parse(l.ip()))) {
                    if (!l.active()) {
                        leases.set(i, new LeaseStore.Lease(l.ip(), podId, stableKey, 0));
                        return IpLiterals.parse(l.ip());
                    }
                    LOG.log(System.Logger.Level.WARNING, "network.stable_address_busy pod={0} key={1} holder={2} ip={3}: giving a fresh address",
                            podId, stableKey, l.podId(), l.ip());
                    keyForNew = null;
                    stable[0] = false;
                    break;
                }
            }
        }
        Set<String> used = new HashSet<>();
        int inRange = 0;
        for (LeaseStore.Lease l : leases) {
            if (subnet.contains(IpLiterals.parse(l.ip()))) {
                used.add(l.ip());
                inRange++;
            }
        }
        BigInteger size = subnet.size();
        String cursorText = cursors.get(subnet.toString());
        InetAddress cursorAddr = cursorText == null ? null : IpLiterals.parse(cursorText);
        BigInteger start = cursorAddr != null && subnet.contains(cursorAddr) ? subnet.offsetOf(cursorAddr).add(BigInteger.ONE) : BigInteger.ONE;
        // Among inRange + 4 consecutive candidates at least one is neither leased nor excluded,
        // unless the range is full: the loop is bounded by the lease count, not the range size.
        BigInteger tries = size.min(BigInteger.valueOf(inRange + 4L));
        for (BigInteger i = BigInteger.ZERO; i.compareTo(tries) < 0; i = i.add(BigInteger.ONE)) {
            BigInteger off = start.add(i).mod(size);
            if (pool.excluded(off)) {
                continue;
            }
            InetAddress a = subnet.address(off);
            String text = IpLiterals.format(a);
            if (!used.contains(text)) {
                leases.add(new LeaseStore.Lease(text, podId, keyForNew, 0));
                cursors.put(subnet.toString(), text);
                return a;
            }
        }
        long held = leases.stream().filter(l -> !l.active() && subnet.contains(IpLiterals.parse(l.ip()))).count();
        throw new NetworkException.AddressExhausted("no free address in " + subnet + " (" + pool.usable() + " usable, "
                + (inRange - held) + " in use, " + held + " kept for StatefulSet pods)");
    }

    /** Releases the pod's leases: StatefulSet leases are kept (until the retention ends), others freed. */
    synchronized void release(String podId) throws NetworkException.StateError {
        long now = clock.millis();
        List<LeaseStore.Lease> next = new ArrayList<>();
        boolean changed = false;
        for (LeaseStore.Lease l : pruned(store.leases())) {
            if (l.active() && l.podId().equals(podId)) {
                changed = true;
                if (l.stableKey() != null) {
                    next.add(new LeaseStore.Lease(l.ip(), l.podId(), l.stableKey(), now));
                }
            } else {
                next.add(l);
            }
        }
        if (changed || next.size() != store.leases().size()) {
            store.commitLeases(next, store.snapshot().cursors());
        }
    }

    synchronized List<LeaseStore.Lease> activeLeasesOf(String podId) {
        return store.leases().stream().filter(l -> l.active() && l.podId().equals(podId)).toList();
    }

    /** Pods that hold an active lease. */
    synchronized Set<String> podsWithLeases() {
        Set<String> s = new HashSet<>();
        for (LeaseStore.Lease l : store.leases()) {
            if (l.active()) {
                s.add(l.podId());
            }
        }
        return s;
    }

    synchronized int leaseCount() {
        return store.leases().size();
    }

    /** Drops kept leases outside {@code pools} (after a pod CIDR change). */
    synchronized void dropOutside(List<Pool> pools) throws NetworkException.StateError {
        List<LeaseStore.Lease> next = store.leases().stream()
                .filter(l -> l.active() || pools.stream().anyMatch(p -> p.subnet().contains(IpLiterals.parse(l.ip()))))
                .toList();
        if (next.size() != store.leases().size()) {
            store.commitLeases(next, store.snapshot().cursors());
        }
    }

    private List<LeaseStore.Lease> pruned(List<LeaseStore.Lease> leases) {
        if (retention.isZero()) {
            return leases;
        }
        long cutoff = clock.millis() - retention.toMillis();
        return leases.stream().filter(l -> l.active() || l.releasedAt() > cutoff).toList();
    }
}
