package io.pvecri.network;

import java.util.Collection;
import java.util.HashSet;
import java.util.List;
import java.util.Optional;
import java.util.Set;

/** Which hostPort mappings collide: same protocol and port, and the same or a wildcard host IP. */
final class HostPortClaims {
    private HostPortClaims() {
    }

    static boolean overlaps(PortMapping a, PortMapping b) {
        if (a.protocol() != b.protocol() || a.hostPort() != b.hostPort() || a.hostPort() == 0) {
            return false;
        }
        if (a.hostIp() == null || b.hostIp() == null) {
            return true;
        }
        return IpLiterals.parse(a.hostIp()).equals(IpLiterals.parse(b.hostIp()));
    }

    /** The first conflict of {@code wanted} with another pod's mappings, as an exception. */
    static Optional<NetworkException.PortConflict> conflict(String podId, List<PortMapping> wanted, Collection<PodRecord> others) {
        for (PodRecord other : others) {
            if (other.podId().equals(podId) || other.state() == PodRecord.State.REMOVING) {
                continue;
            }
            for (PortMapping mine : wanted) {
                for (PortMapping theirs : other.activePorts()) {
                    if (overlaps(mine, theirs)) {
                        return Optional.of(new NetworkException.PortConflict(
                                "hostPort " + describe(mine) + " is already mapped by pod " + other.podId()
                                        + " (" + other.namespace() + "/" + other.name() + ")", other.podId()));
                    }
                }
            }
        }
        return Optional.empty();
    }

    /** Duplicate mappings inside one request, described; empty when none. */
    static Optional<String> selfConflict(List<PortMapping> wanted) {
        Set<String> seen = new HashSet<>();
        for (int i = 0; i < wanted.size(); i++) {
            for (int j = i + 1; j < wanted.size(); j++) {
                if (overlaps(wanted.get(i), wanted.get(j))) {
                    String d = describe(wanted.get(i));
                    if (seen.add(d)) {
                        return Optional.of("hostPort " + d + " is mapped twice");
                    }
                }
            }
        }
        return Optional.empty();
    }

    static String describe(PortMapping p) {
        return p.protocol().wireName() + "/" + (p.hostIp() == null ? "" : p.hostIp() + ":") + p.hostPort();
    }
}
