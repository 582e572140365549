package io.pvecri.gpu;

import java.time.Clock;
import java.util.ArrayList;
import java.util.Collection;
import java.util.Comparator;
import java.util.HashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.TreeMap;
import java.util.stream.Collectors;

/**
 * Admission and placement of GPU requests, and the table of allocations by container id,
 * written through to the {@link AllocationStore} before any change becomes visible.
 *
 * <p>Whole GPUs are exclusive: a GPU given whole carries no share, and a GPU with a share is not
 * given whole. Shares on one GPU add up to at most its memory and 100% compute.
 */
final class GpuAllocator {

    private static final System.Logger LOG = System.getLogger(GpuAllocator.class.getName());

    private final DeviceInventory inventory;
    private final AllocationStore store;
    private final Placement placement;
    private final Clock clock;
    private final String noGpuReason;
    private volatile Map<String, GpuAllocation> allocations; // immutable snapshots, replaced under the lock

    GpuAllocator(DeviceInventory inventory, AllocationStore store, Placement placement, Clock clock,
                 Optional<String> noGpuReason) throws GpuIoException {
        this.inventory = inventory;
        this.store = store;
        this.placement = placement;
        this.clock = clock;
        this.noGpuReason = noGpuReason.orElse("NVML reports no GPUs");
        Map<String, GpuAllocation> loaded = new TreeMap<>();
        for (GpuAllocation a : store.load()) {
            loaded.put(a.containerId(), a);
            for (String uuid : a.gpuUuids()) {
                if (inventory.byUuid(uuid).isEmpty()) {
                    LOG.log(System.Logger.Level.WARNING,
                            "container {0} holds GPU {1}, which this node no longer has; kept until it is released",
                            a.containerId(), uuid);
                }
            }
        }
        this.allocations = Map.copyOf(loaded);
    }

    Collection<GpuAllocation> allocations() {
        return allocations.values().stream().sorted(Comparator.comparing(GpuAllocation::containerId)).toList();
    }

    Optional<GpuAllocation> find(String containerId) {
        return Optional.ofNullable(allocations.get(containerId));
    }

    /**
     * Admits and places a request, persists it, and returns the allocation. The same request
     * again for the same container returns the existing allocation (CreateContainer retries).
     *
     * @throws IllegalArgumentException for {@link GpuRequest.None}: there is nothing to allocate
     */
    synchronized GpuAllocation allocate(AllocationRequest req) throws GpuException {
        GpuAllocation existing = allocations.get(req.containerId());
        String canonical = req.request().canonical();
        if (existing != null) {
            if (existing.request().equals(canonical)) {
                return existing;
            }
            throw new GpuConflictException("container " + req.containerId() + " already holds GPU allocation "
                    + existing.request() + "; cannot also allocate " + canonical);
        }
        Map<String, GpuCapacity> capacity = capacityByUuid();
        GpuAllocation allocation = switch (req.request()) {
            case GpuRequest.None n -> throw new IllegalArgumentException("nothing to allocate for a request of no GPU");
            case GpuRequest.DriverOnly d -> allocation(req, GpuAllocation.Kind.DRIVER_ONLY, List.of(), 0, 0);
            case GpuRequest.AllGpus a -> whole(req, inventory.devices(), capacity);
            case GpuRequest.WholeDevices w -> whole(req, resolve(w.ids()), capacity);
            case GpuRequest.WholeCount c -> wholeCount(req, c.count(), capacity);
            case GpuRequest.Share s -> share(req, s, capacity);
        };
        Map<String, GpuAllocation> next = new HashMap<>(allocations);
        next.put(allocation.containerId(), allocation);
        store.save(next.values());
        allocations = Map.copyOf(next);
        LOG.log(System.Logger.Level.INFO, "GPU allocation for container {0}: {1} on {2}", allocation.containerId(),
                canonical, allocation.gpuUuids());
        return allocation;
    }

    /** Releases a container's allocation; false when it had none. */
    synchronized boolean release(String containerId) throws GpuIoException {
        if (!allocations.containsKey(containerId)) {
            return false;
        }
        Map<String, GpuAllocation> next = new HashMap<>(allocations);
        GpuAllocation gone = next.remove(containerId);
        store.save(next.values());
        allocations = Map.copyOf(next);
        LOG.log(System.Logger.Level.INFO, "GPU allocation of container {0} released ({1})", containerId, gone.request());
        return true;
    }

    /** Releases every allocation whose container is not in {@code live}; returns their ids. */
    synchronized List<String> reconcile(Set<String> live) throws GpuIoException {
        List<String> gone = allocations.keySet().stream().filter(id -> !live.contains(id)).sorted().toList();
        if (gone.isEmpty()) {
            return gone;
        }
        Map<String, GpuAllocation> next = new HashMap<>(allocations);
        gone.forEach(next::remove);
        store.save(next.values());
        allocations = Map.copyOf(next);
        LOG.log(System.Logger.Level.INFO, "GPU allocations of vanished containers released: {0}", gone);
        return gone;
    }

    /** Per GPU, in index order: what is held and what is free. */
    List<GpuCapacity> capacity() {
        return List.copyOf(capacityByUuid().values());
    }

    private Map<String, GpuCapacity> capacityByUuid() {
        Map<String, GpuAllocation> snapshot = allocations;
        Map<String, GpuCapacity> out = new java.util.LinkedHashMap<>();
        for (GpuDevice d : inventory.devices()) {
            Optional<String> owner = Optional.empty();
            long memory = 0;
            int compute = 0;
            int shares = 0;
            for (GpuAllocation a : snapshot.values()) {
                if (!a.gpuUuids().contains(d.uuid())) {
                    continue;
                }
                if (a.kind() == GpuAllocation.Kind.WHOLE) {
                    owner = Optional.of(a.containerId());
                } else if (a.kind() == GpuAllocation.Kind.SHARE) {
                    memory += a.memoryMib();
                    compute += a.computePercent();
                    shares++;
                }
            }
            boolean whole = owner.isPresent();
            out.put(d.uuid(), new GpuCapacity(d.index(), d.uuid(), d.memoryTotalMib(),
                    whole ? 0 : Math.max(0, d.memoryTotalMib() - memory), whole ? 0 : Math.max(0, 100 - compute),
                    owner, shares));
        }
        return out;
    }

    private List<GpuDevice> resolve(List<String> ids) throws InvalidGpuRequestException {
        Set<GpuDevice> out = new LinkedHashSet<>();
        for (String id : ids) {
            out.add(inventory.byId(id).orElseThrow(() -> new InvalidGpuRequestException("unknown GPU '" + id
                    + "'; this node has " + describeDevices())));
        }
        return List.copyOf(out);
    }

    private GpuAllocation whole(AllocationRequest req, List<GpuDevice> wanted, Map<String, GpuCapacity> capacity)
            throws GpuAdmissionException {
        if (wanted.isEmpty()) {
            throw refuse(req, capacity);
        }
        for (GpuDevice d : wanted) {
            if (!capacity.get(d.uuid()).isIdle()) {
                throw refuse(req, capacity);
            }
        }
        return allocation(req, GpuAllocation.Kind.WHOLE, wanted.stream().map(GpuDevice::uuid).toList(), 0, 0);
    }

    private GpuAllocation wholeCount(AllocationRequest req, int count, Map<String, GpuCapacity> capacity)
            throws GpuAdmissionException {
        // Idle GPUs are interchangeable, so first-fit and spread both take the lowest indices.
        List<String> idle = capacity.values().stream().filter(GpuCapacity::isIdle).map(GpuCapacity::uuid).toList();
        if (idle.size() < count) {
            throw refuse(req, capacity);
        }
        return allocation(req, GpuAllocation.Kind.WHOLE, idle.subList(0, count), 0, 0);
    }

    private GpuAllocation share(AllocationRequest req, GpuRequest.Share s, Map<String, GpuCapacity> capacity)
            throws GpuException {
        List<GpuCapacity> candidates;
        if (s.device().isPresent()) {
            GpuDevice d = resolve(List.of(s.device().get())).getFirst();
            candidates = List.of(capacity.get(d.uuid()));
        } else {
            candidates = List.copyOf(capacity.values());
        }
        List<GpuCapacity> fitting = candidates.stream()
                .filter(c -> c.wholeOwner().isEmpty() && c.memoryFreeMib() >= s.memoryMib()
                        && c.computeFreePercent() >= s.computePercent())
                .toList();
        if (fitting.isEmpty()) {
            throw refuse(req, capacity);
        }
        GpuCapacity chosen = switch (placement) {
            case FIRST_FIT -> fitting.getFirst();
            case SPREAD -> fitting.stream().max(Comparator.comparingDouble(GpuAllocator::room)
                    .thenComparing(Comparator.comparingInt(GpuCapacity::index).reversed())).orElseThrow();
        };
        return allocation(req, GpuAllocation.Kind.SHARE, List.of(chosen.uuid()), s.memoryMib(), s.computePercent());
    }

    /** How empty a GPU is, 0..2: free memory fraction plus free compute fraction. */
    private static double room(GpuCapacity c) {
        double memory = c.memoryTotalMib() == 0 ? 0 : (double) c.memoryFreeMib() / c.memoryTotalMib();
        return memory + c.computeFreePercent() / 100.0;
    }

    private GpuAllocation allocation(AllocationRequest req, GpuAllocation.Kind kind, List<String> uuids, long memoryMib,
                                     int computePercent) {
        return new GpuAllocation(req.containerId(), kind, uuids, memoryMib, computePercent, req.quota(), req.labels(),
                req.request().canonical(), clock.instant());
    }

    private GpuAdmissionException refuse(AllocationRequest req, Map<String, GpuCapacity> capacity) {
        String what = "cannot allocate " + req.request().canonical() + " for container " + req.containerId() + ": ";
        if (capacity.isEmpty()) {
            return new GpuAdmissionException(what + "this node has no NVIDIA GPUs (" + noGpuReason + ")");
        }
        return new GpuAdmissionException(what + "free: "
                + capacity.values().stream().map(GpuCapacity::describe).collect(Collectors.joining("; ")));
    }

    private String describeDevices() {
        if (inventory.isEmpty()) {
            return "no NVIDIA GPUs (" + noGpuReason + ")";
        }
        List<String> names = new ArrayList<>();
        for (GpuDevice d : inventory.devices()) {
            names.add(d.index() + "=" + d.uuid());
        }
        return "GPUs " + String.join(", ", names);
    }
}
