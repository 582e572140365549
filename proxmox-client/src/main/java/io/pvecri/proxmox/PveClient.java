package io.pvecri.proxmox;

import com.fasterxml.jackson.databind.JsonNode;

import java.util.ArrayList;
import java.util.List;
import java.util.Objects;

/**
 * Entry point: one client per PVE endpoint, thread-safe, {@link #close()} when done.
 *
 * <pre>{@code
 * var config = PveClientConfig.builder(URI.create("https://pve1:8006"),
 *         ApiToken.fromFile("root@pam!pvecri", Path.of("/etc/pve-cri/token")),
 *         new TlsTrust.Fingerprint("AA:BB:…")).build();
 * try (var pve = PveClient.create(config)) {
 *     var created = pve.vmidAllocator().allocate(id -> pve.lxc("pve1").clone(100, id, CloneOptions.linked()));
 *     pve.taskWaiter().await(created.result(), Duration.ofMinutes(2));
 * }
 * }</pre>
 */
public final class PveClient implements AutoCloseable {

    private final PveClientConfig config;
    private final PveHttp http;
    private final ClusterApi cluster;
    private final AccessApi access;
    private final TaskApi tasks;
    private final TaskWaiter waiter;
    private final VmidAllocator allocator;
    private final java.util.Map<String, VmidAllocator> rangeAllocators = new java.util.HashMap<>();

    private PveClient(PveClientConfig config) {
        this.config = config;
        this.http = new PveHttp(config);
        this.cluster = new ClusterApi(http);
        this.access = new AccessApi(http);
        this.tasks = new TaskApi(http);
        this.waiter = new TaskWaiter(tasks, config.taskPoll(), config.taskLogTail());
        this.allocator = new VmidAllocator(cluster, config.vmidAttempts());
    }

    public static PveClient create(PveClientConfig config) {
        return new PveClient(Objects.requireNonNull(config, "config"));
    }

    public PveClientConfig config() {
        return config;
    }

    /** {@code GET /version}. */
    public PveVersion version() {
        return PveVersion.from(http.get(ApiPath.of("/version"), PveParams.of()));
    }

    /** {@code GET /nodes}. */
    public List<NodeInfo> nodes() {
        JsonNode data = http.get(ApiPath.of("/nodes"), PveParams.of());
        List<NodeInfo> out = new ArrayList<>();
        for (JsonNode n : data) {
            out.add(NodeInfo.from(n));
        }
        return List.copyOf(out);
    }

    public ClusterApi cluster() {
        return cluster;
    }

    public AccessApi access() {
        return access;
    }

    public LxcApi lxc(String node) {
        return new LxcApi(http, tasks, node);
    }

    public StorageApi storage(String node) {
        return new StorageApi(http, node);
    }

    public TaskApi tasks() {
        return tasks;
    }

    public TaskWaiter taskWaiter() {
        return waiter;
    }

    /** One allocator per client, so concurrent allocations in this process never pick the same id. */
    public VmidAllocator vmidAllocator() {
        return allocator;
    }

    /**
     * An allocator that claims ids only from {@code [lower, upper]} (pve-cri's own range), shared by all
     * callers asking for the same range.
     */
    public synchronized VmidAllocator vmidAllocator(int lower, int upper) {
        return rangeAllocators.computeIfAbsent(lower + "-" + upper,
                k -> new VmidAllocator(cluster, config.vmidAttempts(), lower, upper));
    }

    /** A {@link LockRetry} with this client's policy, for "call + wait" steps. */
    public LockRetry lockRetry() {
        return new LockRetry(config.lockRetry());
    }

    @Override
    public void close() {
        http.close();
    }
}
