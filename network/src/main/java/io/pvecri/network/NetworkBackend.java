package io.pvecri.network;

import java.util.Collection;
import java.util.List;
import java.util.Set;

/** How pods get their network: the built-in bridge, or CNI plugins. */
sealed interface NetworkBackend permits BridgeBackend, CniBackend {

    /** "bridge" or "cni", as stored in pod records. */
    String mode();

    /**
     * Wires the pod. {@code pending} is already persisted (hostPorts reserved). Persists what it
     * creates before creating it, so the caller can unwind with {@link #detach} on failure.
     * Returns the record with addresses filled.
     */
    PodRecord attach(PodRecord pending, PodNetworkRequest req) throws NetworkException;

    /** Undoes everything of the pod, every step tried; returns the errors. */
    List<String> detach(PodRecord rec);

    /** Problems with a set-up pod's network (CNI CHECK); empty when fine. */
    List<String> check(PodRecord rec);

    /**
     * After a restart: {@code live} are the records that stay. Removes host leftovers of other
     * pods (veths, group bridges, leases) and re-applies what live pods need. Returns the errors.
     */
    List<String> reconcileHost(Collection<PodRecord> live, Set<String> livePodIds);

    Readiness readiness();

    void updatePodCidr(String cidr) throws NetworkException;

    List<BridgeCounters> counters();

    /** DNS settings the network itself provides (CNI result), or null. */
    DnsConfig providedDns(PodRecord rec);
}
