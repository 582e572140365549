package io.pvecri.proxmox;

import com.fasterxml.jackson.databind.JsonNode;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;

/**
 * LXC calls on one node ({@code /nodes/{node}/lxc…}). Asynchronous operations return the task's
 * {@link Upid}; wait with {@link TaskWaiter}. Synchronous refusals (locked, already exists, not running,
 * …) come back as {@link PveException} subtypes; lock contention is retried by the client first.
 */
public final class LxcApi {

    private final PveHttp http;
    private final TaskApi tasks;
    private final String node;

    LxcApi(PveHttp http, TaskApi tasks, String node) {
        this.http = http;
        this.tasks = tasks;
        this.node = Objects.requireNonNull(node, "node");
    }

    public String node() {
        return node;
    }

    /** {@code GET /nodes/{node}/lxc}: the containers on this node. */
    public List<LxcStatus> list() {
        JsonNode data = http.get(ApiPath.of("/nodes/{node}/lxc", node), PveParams.of());
        List<LxcStatus> out = new ArrayList<>();
        for (JsonNode n : data) {
            out.add(LxcStatus.from(n));
        }
        return List.copyOf(out);
    }

    /**
     * {@code POST /nodes/{node}/lxc} (task {@code vzcreate}). {@code params} carries {@code ostemplate} and
     * any config keys; send {@code unprivileged=1} explicitly (PVE 8 defaults to privileged) and
     * {@code ostype=unmanaged} for arbitrary images. The VMID is claimed synchronously: a taken id fails
     * at once with {@link PveException.AlreadyExists}.
     */
    public Upid create(int vmid, PveParams params) {
        return upid(http.post(ApiPath.of("/nodes/{node}/lxc", node), PveParams.of().with("vmid", vmid).withAll(params)));
    }

    /** {@code POST /nodes/{node}/lxc/{vmid}/clone} (task {@code vzclone}, id = source VMID). */
    public Upid clone(int vmid, int newid, CloneOptions options) {
        return upid(http.post(ApiPath.of("/nodes/{node}/lxc/{vmid}/clone", node, vmid), options.toParams(newid)));
    }

    /**
     * {@code POST /nodes/{node}/lxc/{vmid}/template}. PVE answers {@code null} although it forks a
     * {@code vztemplate} worker; this method finds that task so the caller can wait for it.
     *
     * @throws PveException.ApiError if the worker cannot be found in the node's task list
     */
    public Upid template(int vmid) {
        http.post(ApiPath.of("/nodes/{node}/lxc/{vmid}/template", node, vmid), PveParams.of());
        for (int i = 0; i < 5; i++) {
            var found = tasks.latest(node, vmid, "vztemplate");
            if (found.isPresent()) {
                return found.get();
            }
            sleep(Duration.ofMillis(100L << i));
        }
        throw new PveException.ApiError("template conversion of CT " + vmid + " started, but no vztemplate task is listed",
                200, "POST /nodes/{node}/lxc/{vmid}/template");
    }

    /** {@code GET /nodes/{node}/lxc/{vmid}/config} with pending values merged in (PVE's default). */
    public LxcConfig config(int vmid) {
        return LxcConfig.from(http.get(ApiPath.of("/nodes/{node}/lxc/{vmid}/config", node, vmid), PveParams.of()));
    }

    /** {@code GET …/config?current=1}: only the values in effect (no pending changes). */
    public LxcConfig currentConfig(int vmid) {
        return LxcConfig.from(http.get(ApiPath.of("/nodes/{node}/lxc/{vmid}/config", node, vmid),
                PveParams.of().with("current", true)));
    }

    /**
     * {@code PUT /nodes/{node}/lxc/{vmid}/config} (synchronous). With a digest, a concurrent change makes PVE
     * refuse with {@link PveException.ConfigChanged}: re-read and try again.
     */
    public void updateConfig(int vmid, ConfigUpdate update) {
        http.put(ApiPath.of("/nodes/{node}/lxc/{vmid}/config", node, vmid), update.toParams());
    }

    /** {@code GET /nodes/{node}/lxc/{vmid}/status/current}. */
    public LxcStatus status(int vmid) {
        return LxcStatus.from(http.get(ApiPath.of("/nodes/{node}/lxc/{vmid}/status/current", node, vmid), PveParams.of()));
    }

    /** {@code POST …/status/start} (task {@code vzstart}); {@link PveException.InvalidState} if already running. */
    public Upid start(int vmid) {
        return upid(http.post(ApiPath.of("/nodes/{node}/lxc/{vmid}/status/start", node, vmid), PveParams.of()));
    }

    /**
     * {@code POST …/status/shutdown} (task {@code vzshutdown}): clean shutdown, waiting {@code timeout};
     * then, with {@code forceStop}, kill; without it the task fails {@code container did not stop}.
     */
    public Upid shutdown(int vmid, Duration timeout, boolean forceStop) {
        return upid(http.post(ApiPath.of("/nodes/{node}/lxc/{vmid}/status/shutdown", node, vmid),
                PveParams.of().with("timeout", Math.max(0, timeout.toSeconds())).with("forceStop", forceStop)));
    }

    /** {@code POST …/status/stop} (task {@code vzstop}): immediate kill; {@link PveException.InvalidState} if not running. */
    public Upid stop(int vmid) {
        return upid(http.post(ApiPath.of("/nodes/{node}/lxc/{vmid}/status/stop", node, vmid), PveParams.of()));
    }

    /**
     * {@code DELETE /nodes/{node}/lxc/{vmid}?purge=1&destroy-unreferenced-disks=1} (task {@code vzdestroy}).
     * The CT must be stopped ({@link PveException.InvalidState} otherwise); the id stays taken until the task ends.
     */
    public Upid delete(int vmid) {
        return upid(http.delete(ApiPath.of("/nodes/{node}/lxc/{vmid}", node, vmid),
                PveParams.of().with("purge", true).with("destroy-unreferenced-disks", true)));
    }

    static Upid upid(JsonNode data) {
        String text = data.asText();
        if (!Upid.isUpid(text)) {
            throw new PveException.ApiError("expected a task UPID, got '" + abbreviate(data.toString()) + "'", 200, "task");
        }
        return Upid.parse(text);
    }

    private static String abbreviate(String s) {
        return s.length() <= 120 ? s : s.substring(0, 120) + "…";
    }

    private static void sleep(Duration d) {
        try {
            Thread.sleep(d);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new PveException.Unavailable("interrupted", 0, "GET /nodes/{node}/tasks", e, true);
        }
    }
}
