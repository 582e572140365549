package io.pvecri.proxmox;

import com.fasterxml.jackson.databind.JsonNode;

/**
 * {@code GET /version}.
 *
 * @param version e.g. {@code 9.1.2}
 * @param release e.g. {@code 9.1}
 * @param repoid  git commit of pve-manager
 */
public record PveVersion(String version, String release, String repoid) {

    static PveVersion from(JsonNode n) {
        return new PveVersion(Json.text(n, "version", ""), Json.text(n, "release", ""), Json.text(n, "repoid", ""));
    }

    /** The major version (8, 9, …), or 0 if unparsable. */
    public int major() {
        String v = release.isEmpty() ? version : release;
        int dot = v.indexOf('.');
        try {
            return Integer.parseInt(dot < 0 ? v : v.substring(0, dot));
        } catch (NumberFormatException e) {
            return 0;
        }
    }
}
