package io.pvecri.proxmox;

import com.fasterxml.jackson.databind.JsonNode;

/**
 * One item of {@code GET /nodes/{node}/storage/{storage}/content}.
 *
 * @param volid   volume id, e.g. {@code local:vztmpl/debian-12.tar.zst}, {@code local-zfs:subvol-101-disk-0}
 * @param content {@code vztmpl}, {@code rootdir}, {@code images}, {@code iso}, {@code backup}, …
 * @param format  {@code tzst}, {@code tar}, {@code subvol}, {@code raw}, …
 * @param size    bytes
 * @param used    bytes actually used, 0 if unknown
 * @param ctime   creation time, epoch seconds, 0 if unknown
 * @param vmid    owning guest, 0 if none
 * @param parent  base volume of a linked clone, empty if none
 */
public record StorageVolume(String volid, String content, String format, long size, long used, long ctime, int vmid,
                            String parent) {

    static StorageVolume from(JsonNode n) {
        return new StorageVolume(Json.text(n, "volid", ""), Json.text(n, "content", ""), Json.text(n, "format", ""),
                Json.number(n, "size", 0), Json.number(n, "used", 0), Json.number(n, "ctime", 0),
                Json.integer(n, "vmid", 0), Json.text(n, "parent", ""));
    }
}
