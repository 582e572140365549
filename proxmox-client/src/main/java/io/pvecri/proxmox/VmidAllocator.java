package io.pvecri.proxmox;

import java.lang.System.Logger.Level;
import java.util.HashSet;
import java.util.LinkedHashSet;
import java.util.Objects;
import java.util.Set;

/**
 * Picks a VMID and claims it with the caller's create or clone, surviving races with other threads
 * and other nodes. {@code /cluster/nextid} reserves nothing, so it hands the same id to concurrent
 * callers; the claim (PVE writing the new config with {@code lock: create}, atomic in pmxcfs) decides.
 *
 * <p>Per attempt: take nextid, skip ids this allocator has in flight or recently saw taken (checking a
 * skipped-to id with {@code nextid?vmid=}), run the claim; on {@link PveException.AlreadyExists} for that
 * id, remember it and try again, up to {@code maxAttempts}. Other failures pass through at once.
 *
 * <pre>{@code
 * var created = allocator.allocate(vmid -> lxc.clone(templateId, vmid, CloneOptions.linked()));
 * waiter.await(created.result(), Duration.ofMinutes(2));
 * }</pre>
 */
public final class VmidAllocator {

    private static final System.Logger LOG = System.getLogger(VmidAllocator.class.getName());
    private static final int RECENT_MAX = 4096;
    private static final int MAX_VMID = 999_999_999;

    /** The call that claims a VMID, e.g. {@code vmid -> lxc.create(vmid, params)}. */
    @FunctionalInterface
    public interface Claim<T> {
        T apply(int vmid);
    }

    /** A claimed VMID and what the claim returned (typically the task's UPID). */
    public record Allocation<T>(int vmid, T result) {
    }

    private final ClusterApi cluster;
    private final int maxAttempts;
    private final int lower;
    private final int upper;
    private final Set<Integer> inFlight = new HashSet<>();
    private final LinkedHashSet<Integer> recentlyTaken = new LinkedHashSet<>();

    VmidAllocator(ClusterApi cluster, int maxAttempts) {
        this(cluster, maxAttempts, 0, 0);
    }

    /**
     * With {@code lower > 0}, candidates come from {@code [lower, upper]} (an id range of the caller's own,
     * as the reference advises) instead of nextid; each is checked with {@code nextid?vmid=} before the claim.
     */
    VmidAllocator(ClusterApi cluster, int maxAttempts, int lower, int upper) {
        this.cluster = Objects.requireNonNull(cluster, "cluster");
        if (maxAttempts < 1) {
            throw new IllegalArgumentException("maxAttempts: must be >= 1, got " + maxAttempts);
        }
        if (lower != 0 && (lower < 100 || upper > MAX_VMID || lower > upper)) {
            throw new IllegalArgumentException("VMID range [" + lower + ", " + upper + "] is not within 100.." + MAX_VMID);
        }
        this.maxAttempts = maxAttempts;
        this.lower = lower;
        this.upper = upper;
    }

    /**
     * Allocates a VMID by running {@code claim} with candidates until one is not taken.
     *
     * @throws PveException.AlreadyExists if every attempt collided
     * @throws PveException               any other failure of nextid or the claim
     */
    public <T> Allocation<T> allocate(Claim<T> claim) {
        PveException.AlreadyExists last = null;
        for (int attempt = 1; attempt <= maxAttempts; attempt++) {
            int vmid = reserve();
            try {
                T result = claim.apply(vmid);
                remember(vmid);
                return new Allocation<>(vmid, result);
            } catch (PveException.AlreadyExists e) {
                if (e.vmid().isPresent() && e.vmid().getAsInt() != vmid) {
                    throw e; // about some other id: not a collision on ours
                }
                remember(vmid);
                last = e;
                int n = attempt;
                LOG.log(Level.INFO, () -> "VMID " + vmid + " was taken concurrently (" + e.pveMessage() + "); attempt "
                        + n + "/" + maxAttempts);
            } finally {
                release(vmid);
            }
        }
        throw Objects.requireNonNull(last);
    }

    /** Picks a candidate and marks it in flight. */
    private int reserve() {
        int candidate = lower > 0 ? lower : cluster.nextId();
        int last = lower > 0 ? upper : MAX_VMID;
        while (true) {
            boolean skipped;
            synchronized (this) {
                int first = candidate;
                while (inFlight.contains(candidate) || recentlyTaken.contains(candidate)) {
                    candidate++;
                }
                if (candidate > last) {
                    throw new PveException.ApiError("no free VMID in [" + first + ", " + last + "]", 0, "GET /cluster/nextid");
                }
                skipped = lower > 0 || candidate != first;
                inFlight.add(candidate);
            }
            // an id nextid did not name: make sure the cluster agrees it is free before using it
            if (!skipped || cluster.isFree(candidate)) {
                return candidate;
            }
            remember(candidate);
            release(candidate);
            candidate++;
        }
    }

    private synchronized void release(int vmid) {
        inFlight.remove(vmid);
    }

    private synchronized void remember(int vmid) {
        recentlyTaken.remove(vmid);
        recentlyTaken.add(vmid);
        if (recentlyTaken.size() > RECENT_MAX) {
            recentlyTaken.removeFirst();
        }
    }
}
