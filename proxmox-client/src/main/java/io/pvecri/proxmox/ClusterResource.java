package io.pvecri.proxmox;

import com.fasterxml.jackson.databind.JsonNode;

import java.util.Set;

/**
 * A guest row of {@code GET /cluster/resources?type=vm}. Status and usage come from pvestatd broadcasts
 * (about 10 s behind; a just-created guest shows {@code unknown}); use {@link LxcApi#status} for fresh state.
 *
 * @param id       {@code lxc/100} or {@code qemu/100}
 * @param vmid     the VMID
 * @param node     owning node
 * @param type     {@code lxc} or {@code qemu}
 * @param status   {@code running}, {@code stopped}, {@code unknown}, …
 * @param name     hostname / name, may be empty
 * @param template true for templates
 * @param tags     guest tags
 * @param lock     the config {@code lock:} value, empty if none
 * @param cpu      CPU usage fraction
 * @param maxcpu   CPUs
 * @param mem      used memory, bytes
 * @param maxmem   memory limit, bytes
 * @param disk     used root disk, bytes
 * @param maxdisk  root disk size, bytes
 * @param uptime   seconds
 */
public record ClusterResource(String id, int vmid, String node, String type, String status, String name,
                              boolean template, Set<String> tags, String lock, double cpu, int maxcpu, long mem,
                              long maxmem, long disk, long maxdisk, long uptime) {

    public ClusterResource {
        tags = Set.copyOf(tags);
    }

    static ClusterResource from(JsonNode n) {
        return new ClusterResource(Json.text(n, "id", ""), Json.integer(n, "vmid", 0), Json.text(n, "node", ""),
                Json.text(n, "type", ""), Json.text(n, "status", "unknown"), Json.text(n, "name", ""),
                Json.bool(n, "template", false), Json.tags(n, "tags"), Json.text(n, "lock", ""),
                Json.decimal(n, "cpu", 0), Json.integer(n, "maxcpu", 0), Json.number(n, "mem", 0),
                Json.number(n, "maxmem", 0), Json.number(n, "disk", 0), Json.number(n, "maxdisk", 0),
                Json.number(n, "uptime", 0));
    }

    public boolean isLxc() {
        return type.equals("lxc");
    }
}
