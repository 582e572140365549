package io.pvecri.proxmox;

import com.fasterxml.jackson.databind.JsonNode;

import java.util.Set;

/**
 * {@code GET /nodes/{node}/lxc/{vmid}/status/current}, also the items of {@code GET /nodes/{node}/lxc}.
 *
 * @param vmid     the VMID
 * @param status   {@code running} or {@code stopped}
 * @param name     hostname, or {@code CT<vmid>}
 * @param pid      init PID on the host, 0 when stopped
 * @param cpus     CPU limit
 * @param cpu      CPU usage fraction (first sample 0)
 * @param mem      used memory, bytes
 * @param maxmem   memory limit, bytes
 * @param swap     used swap, bytes
 * @param maxswap  swap limit, bytes
 * @param disk     used root disk, bytes (0 when stopped)
 * @param maxdisk  root disk size, bytes
 * @param uptime   seconds, 0 when stopped
 * @param lock     config lock, empty if none
 * @param template true for templates
 * @param tags     tags
 */
public record LxcStatus(int vmid, String status, String name, long pid, double cpus, double cpu, long mem,
                        long maxmem, long swap, long maxswap, long disk, long maxdisk, long uptime, String lock,
                        boolean template, Set<String> tags) {

    public LxcStatus {
        tags = Set.copyOf(tags);
    }

    static LxcStatus from(JsonNode n) {
        return new LxcStatus(Json.integer(n, "vmid", 0), Json.text(n, "status", "unknown"), Json.text(n, "name", ""),
                Json.number(n, "pid", 0), Json.decimal(n, "cpus", 0), Json.decimal(n, "cpu", 0),
                Json.number(n, "mem", 0), Json.number(n, "maxmem", 0), Json.number(n, "swap", 0),
                Json.number(n, "maxswap", 0), Json.number(n, "disk", 0), Json.number(n, "maxdisk", 0),
                Json.number(n, "uptime", 0), Json.text(n, "lock", ""), Json.bool(n, "template", false),
                Json.tags(n, "tags"));
    }

    public boolean running() {
        return status.equals("running");
    }
}
