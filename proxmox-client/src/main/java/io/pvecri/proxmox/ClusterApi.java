package io.pvecri.proxmox;

import com.fasterxml.jackson.databind.JsonNode;

import java.util.ArrayList;
import java.util.List;

/** Cluster-wide calls: {@code /cluster/nextid}, {@code /cluster/resources}. */
public final class ClusterApi {

    private final PveHttp http;

    ClusterApi(PveHttp http) {
        this.http = http;
    }

    /**
     * {@code GET /cluster/nextid}: the lowest unused VMID in the datacenter's next-id range. Reserves
     * nothing: two callers may get the same id, and only the create/clone that writes the config claims it
     * (use {@link VmidAllocator}).
     */
    public int nextId() {
        return asVmid(http.get(ApiPath.of("/cluster/nextid"), PveParams.of()));
    }

    /**
     * {@code GET /cluster/nextid?vmid=N}: whether {@code vmid} is unused right now (PVE answers 400
     * {@code VM <n> already exists} when it is taken).
     */
    public boolean isFree(int vmid) {
        try {
            http.get(ApiPath.of("/cluster/nextid"), PveParams.of().with("vmid", vmid));
            return true;
        } catch (PveException.AlreadyExists e) {
            return false;
        }
    }

    /** {@code GET /cluster/resources?type=vm}: every guest (LXC and QEMU) the token may audit, on all nodes. */
    public List<ClusterResource> guests() {
        JsonNode data = http.get(ApiPath.of("/cluster/resources"), PveParams.of().with("type", "vm"));
        List<ClusterResource> out = new ArrayList<>();
        for (JsonNode n : data) {
            out.add(ClusterResource.from(n));
        }
        return List.copyOf(out);
    }

    private static int asVmid(JsonNode n) {
        // PVE often sends the number as a JSON string ("100")
        String s = n.asText().strip();
        if (!s.matches("[1-9][0-9]{2,8}")) {
            throw new PveException.ApiError("unexpected nextid answer '" + s + "'", 200, "GET /cluster/nextid");
        }
        return Integer.parseInt(s);
    }
}
