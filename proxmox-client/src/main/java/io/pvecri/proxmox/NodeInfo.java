package io.pvecri.proxmox;

import com.fasterxml.jackson.databind.JsonNode;

/**
 * One item of {@code GET /nodes}.
 *
 * @param node           node name
 * @param status         {@code online}, {@code offline} or {@code unknown}
 * @param cpu            CPU usage, fraction of {@code maxcpu}
 * @param maxcpu         CPU count
 * @param mem            used memory, bytes
 * @param maxmem         total memory, bytes
 * @param uptime         seconds
 * @param sslFingerprint SHA-256 fingerprint of the node's certificate ({@code AA:BB:…}), or empty
 */
public record NodeInfo(String node, String status, double cpu, int maxcpu, long mem, long maxmem, long uptime,
                       String sslFingerprint) {

    static NodeInfo from(JsonNode n) {
        return new NodeInfo(Json.text(n, "node", ""), Json.text(n, "status", "unknown"), Json.decimal(n, "cpu", 0),
                Json.integer(n, "maxcpu", 0), Json.number(n, "mem", 0), Json.number(n, "maxmem", 0),
                Json.number(n, "uptime", 0), Json.text(n, "ssl_fingerprint", ""));
    }

    public boolean online() {
        return status.equals("online");
    }
}
