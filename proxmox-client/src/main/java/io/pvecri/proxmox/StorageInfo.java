package io.pvecri.proxmox;

import com.fasterxml.jackson.databind.JsonNode;

import java.util.Set;

/**
 * One item of {@code GET /nodes/{node}/storage}.
 *
 * @param storage storage id, e.g. {@code local-zfs}
 * @param type    {@code dir}, {@code zfspool}, {@code lvmthin}, {@code rbd}, {@code nfs}, {@code btrfs}, …
 * @param content allowed content types ({@code vztmpl}, {@code rootdir}, {@code images}, …)
 * @param enabled not disabled
 * @param active  activated on this node
 * @param shared  shared between nodes
 * @param total   bytes (0 when inactive)
 * @param used    bytes
 * @param avail   bytes
 */
public record StorageInfo(String storage, String type, Set<String> content, boolean enabled, boolean active,
                          boolean shared, long total, long used, long avail) {

    public StorageInfo {
        content = Set.copyOf(content);
    }

    static StorageInfo from(JsonNode n) {
        String content = Json.text(n, "content", "");
        return new StorageInfo(Json.text(n, "storage", ""), Json.text(n, "type", ""),
                content.isBlank() ? Set.of() : Set.of(content.split(",")), Json.bool(n, "enabled", true),
                Json.bool(n, "active", false), Json.bool(n, "shared", false), Json.number(n, "total", 0),
                Json.number(n, "used", 0), Json.number(n, "avail", 0));
    }

    public boolean supports(String contentType) {
        return content.contains(contentType);
    }
}
