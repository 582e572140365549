package io.pvecri.gpu;

import java.time.Clock;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;

/**
 * The GPU module as the daemon uses it: inventory, allocation (persisted under the state dir),
 * passthrough descriptions, and usage sampling with quota enforcement. Thread-safe.
 *
 * <p>Life of a GPU container: {@link #allocate} at CreateContainer (before anything is created,
 * so a refusal leaves nothing behind), {@link #passthrough} to write the LXC config,
 * {@link #release} at RemoveContainer, {@link #reconcile} after a restart. {@link #startMonitoring}
 * once at start; {@link #latestSnapshot} for metrics.
 *
 * <p>On a host without NVIDIA hardware everything works with zero devices: requests for no GPU
 * pass, requests for GPUs are refused with {@link GpuAdmissionException}.
 */
public final class GpuService implements AutoCloseable {

    private final GpuConfig config;
    private final Nvml nvml;
    private final DeviceInventory inventory;
    private final AllocationStore store;
    private final GpuAllocator allocator;
    private final DevicePassthrough passthrough;
    private final GpuMonitor monitor;

    private GpuService(GpuConfig config, Nvml nvml, DeviceInventory inventory, AllocationStore store,
                       GpuAllocator allocator, GpuMonitor monitor) {
        this.config = config;
        this.nvml = nvml;
        this.inventory = inventory;
        this.store = store;
        this.allocator = allocator;
        this.passthrough = new DevicePassthrough(inventory, config);
        this.monitor = monitor;
    }

    /** Loads NVML as configured ({@link Nvml#load}) and opens the service on it. */
    public static GpuService open(GpuConfig config, ProcessOwner owner, Stopper stopper) throws GpuException {
        return open(config, Nvml.load(config), owner, stopper);
    }

    /**
     * Opens the service on a given NVML (a fake in tests). The service owns {@code nvml} from
     * here on: it shuts it down on close, or right away when the open fails.
     */
    public static GpuService open(GpuConfig config, Nvml nvml, ProcessOwner owner, Stopper stopper)
            throws GpuException {
        return open(config, nvml, owner, stopper, Clock.systemUTC());
    }

    static GpuService open(GpuConfig config, Nvml nvml, ProcessOwner owner, Stopper stopper, Clock clock)
            throws GpuException {
        AllocationStore store = null;
        try {
            DeviceInventory inventory = DeviceInventory.discover(nvml);
            store = AllocationStore.open(config.stateDir());
            GpuAllocator allocator = new GpuAllocator(inventory, store, config.placement(), clock, nvml.absentReason());
            GpuMonitor monitor = new GpuMonitor(new UsageSampler(nvml, inventory, owner), new QuotaEnforcer(stopper),
                    allocator::allocations, clock);
            return new GpuService(config, nvml, inventory, store, allocator, monitor);
        } catch (GpuException | RuntimeException e) {
            if (store != null) {
                store.close();
            }
            nvml.close();
            throw e;
        }
    }

    /** Why there are no GPUs, when NVML is absent. */
    public Optional<String> unavailableReason() {
        return nvml.absentReason();
    }

    public List<GpuDevice> devices() {
        return inventory.devices();
    }

    /** Per GPU: who holds it whole, or how much is left for shares. */
    public List<GpuCapacity> capacity() {
        return allocator.capacity();
    }

    /**
     * Allocates a parsed request. The same request again for the same container returns the
     * existing allocation.
     *
     * @return empty for {@link GpuRequest.None}
     * @throws GpuAdmissionException      it does not fit now (RESOURCE_EXHAUSTED)
     * @throws InvalidGpuRequestException it names a GPU this node does not have (INVALID_ARGUMENT)
     * @throws GpuConflictException       the container already holds a different allocation
     * @throws GpuIoException             the allocation could not be persisted; nothing was allocated
     */
    public Optional<GpuAllocation> allocate(AllocationRequest request) throws GpuException {
        if (request.request() instanceof GpuRequest.None) {
            return Optional.empty();
        }
        return Optional.of(allocator.allocate(request));
    }

    /**
     * Parses and allocates what a container asks for through its environment
     * (NVIDIA_VISIBLE_DEVICES) and its pod's annotations ({@link GpuRequests}).
     *
     * @return empty when it asks for no GPU
     */
    public Optional<GpuAllocation> allocate(String containerId, ContainerLabels labels, Map<String, String> env,
                                            Map<String, String> annotations) throws GpuException {
        GpuRequest request = GpuRequests.request(labels.container(), env, annotations);
        if (request instanceof GpuRequest.None) {
            return Optional.empty();
        }
        QuotaSettings quota = GpuRequests.quota(labels.container(), annotations, config.defaultQuota());
        return allocate(new AllocationRequest(containerId, request, quota, labels));
    }

    public Optional<GpuAllocation> allocation(String containerId) {
        return allocator.find(containerId);
    }

    public List<GpuAllocation> allocations() {
        return List.copyOf(allocator.allocations());
    }

    /** What the container's LXC config needs; empty when it holds no allocation. */
    public Optional<GpuPassthrough> passthrough(String containerId) throws GpuIoException {
        Optional<GpuAllocation> a = allocator.find(containerId);
        if (a.isEmpty()) {
            return Optional.empty();
        }
        return Optional.of(passthrough.describe(a.get()));
    }

    /** Releases the container's allocation (RemoveContainer); false when it had none. Idempotent. */
    public boolean release(String containerId) throws GpuIoException {
        return allocator.release(containerId);
    }

    /** Releases the allocations of every container not in {@code liveContainerIds}; returns their ids. */
    public List<String> reconcile(Set<String> liveContainerIds) throws GpuIoException {
        return allocator.reconcile(liveContainerIds);
    }

    /** Samples every {@link GpuConfig#sampleInterval()} on a daemon thread, from now on. */
    public void startMonitoring() {
        monitor.start(config.sampleInterval());
    }

    /** Samples now (also enforcing), and returns the snapshot. */
    public GpuSnapshot sample() {
        return monitor.sampleNow();
    }

    /** The last snapshot, empty before the first sample. */
    public Optional<GpuSnapshot> latestSnapshot() {
        return monitor.latest();
    }

    /** Stops sampling, releases the state dir lock, shuts NVML down. Allocations stay persisted. */
    @Override
    public void close() {
        monitor.close();
        store.close();
        nvml.close();
    }
}
