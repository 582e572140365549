package io.pvecri.proxmox;

import com.fasterxml.jackson.databind.JsonNode;

import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Optional;

/**
 * Task calls ({@code /nodes/{node}/tasks/…}). The node comes from the UPID itself. To wait for a task,
 * use {@link TaskWaiter}.
 */
public final class TaskApi {

    private final PveHttp http;

    TaskApi(PveHttp http) {
        this.http = http;
    }

    /** {@code GET /nodes/{node}/tasks/{upid}/status}. */
    public TaskStatus status(Upid upid) {
        JsonNode n = http.get(ApiPath.of("/nodes/{node}/tasks/{upid}/status", upid.node(), upid), PveParams.of());
        String user = Json.text(n, "user", upid.user());
        String tokenId = Json.text(n, "tokenid", "");
        return new TaskStatus(upid, TaskState.of(Json.text(n, "status", ""), Json.text(n, "exitstatus", null)),
                tokenId.isEmpty() ? user : user + "!" + tokenId);
    }

    /**
     * {@code GET /nodes/{node}/tasks/{upid}/log?start=&limit=}.
     *
     * @param start 0-based first line
     * @param limit lines to return; 0 means all
     */
    public List<TaskLogLine> log(Upid upid, int start, int limit) {
        return lines(logEnvelope(upid, start, limit));
    }

    /** The last {@code lines} lines of the task log (two calls: the line count, then the tail). */
    public List<String> logTail(Upid upid, int lines) {
        if (lines <= 0) {
            return List.of();
        }
        long total = Json.number(logEnvelope(upid, 0, 1), "total", 0);
        int start = (int) Math.max(0, total - lines);
        return lines(logEnvelope(upid, start, lines)).stream().map(TaskLogLine::text).toList();
    }

    private JsonNode logEnvelope(Upid upid, int start, int limit) {
        return http.getEnvelope(ApiPath.of("/nodes/{node}/tasks/{upid}/log", upid.node(), upid),
                PveParams.of().with("start", start).with("limit", limit));
    }

    private static List<TaskLogLine> lines(JsonNode envelope) {
        List<TaskLogLine> out = new ArrayList<>();
        JsonNode data = envelope.get("data");
        if (data != null && data.isArray()) {
            for (JsonNode l : data) {
                out.add(new TaskLogLine(Json.integer(l, "n", 0), Json.text(l, "t", "")));
            }
        }
        return List.copyOf(out);
    }

    /** {@code DELETE /nodes/{node}/tasks/{upid}}: kills the worker; the task then ends with an error. */
    public void stop(Upid upid) {
        http.delete(ApiPath.of("/nodes/{node}/tasks/{upid}", upid.node(), upid), PveParams.of());
    }

    /**
     * The newest task of {@code type} for {@code vmid} on {@code node}, running or finished
     * ({@code GET /nodes/{node}/tasks?vmid=&typefilter=&source=all}). Needed where PVE forks a worker
     * without returning its UPID ({@code POST …/template}, {@code start=1} on create).
     */
    public Optional<Upid> latest(String node, int vmid, String type) {
        JsonNode data = http.get(ApiPath.of("/nodes/{node}/tasks", node),
                PveParams.of().with("vmid", vmid).with("typefilter", type).with("source", "all").with("limit", 50));
        List<Upid> found = new ArrayList<>();
        for (JsonNode t : data) {
            String text = Json.text(t, "upid", "");
            if (Upid.isUpid(text)) {
                Upid u = Upid.parse(text);
                if (u.type().equals(type) && u.id().equals(Integer.toString(vmid))) {
                    found.add(u);
                }
            }
        }
        return found.stream().max(Comparator.comparingLong(Upid::starttime).thenComparingLong(Upid::pstart));
    }
}
