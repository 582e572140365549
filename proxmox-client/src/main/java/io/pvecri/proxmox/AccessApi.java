package io.pvecri.proxmox;

import com.fasterxml.jackson.databind.JsonNode;

import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;

/** Access control: {@code GET /access/permissions}. */
public final class AccessApi {

    private final PveHttp http;

    AccessApi(PveHttp http) {
        this.http = http;
    }

    /**
     * {@code GET /access/permissions?path=P}: the privileges the calling token holds on ACL path
     * {@code path} (for a privsep token, its own ACLs intersected with its user's). Empty when it holds
     * none there.
     */
    public Set<String> privileges(String path) {
        if (path == null || !path.startsWith("/")) {
            throw new IllegalArgumentException("path: an ACL path such as /vms or /storage/local, got '" + path + "'");
        }
        return permissions(PveParams.of().with("path", path)).getOrDefault(path, Set.of());
    }

    /**
     * {@code GET /access/permissions}: the calling token's privileges on PVE's top-level paths and every
     * path with an ACL entry, {@code path → privileges}; paths where it holds nothing are left out.
     */
    public Map<String, Set<String>> permissions() {
        return permissions(PveParams.of());
    }

    /** With {@code userid}: another user's or token's (needs {@code Sys.Audit} on {@code /access}). */
    Map<String, Set<String>> permissions(PveParams query) {
        return parse(http.get(ApiPath.of("/access/permissions"), query));
    }

    /**
     * {@code {"<path>": {"<privilege>": <propagate flag>, …}, …}}: a privilege is held when its key is
     * there with a non-null value (the value is whether it propagates, {@code 1}/{@code 0}/{@code "1"}/…,
     * not whether it is held).
     */
    static Map<String, Set<String>> parse(JsonNode data) {
        Map<String, Set<String>> out = new LinkedHashMap<>();
        if (data == null || !data.isObject()) {
            return Map.of();
        }
        data.properties().forEach(e -> {
            TreeSet<String> privs = new TreeSet<>();
            JsonNode v = e.getValue();
            if (v != null && v.isObject()) {
                v.properties().forEach(p -> {
                    if (p.getValue() != null && !p.getValue().isNull()) {
                        privs.add(p.getKey());
                    }
                });
            }
            out.put(e.getKey(), Collections.unmodifiableSet(privs));
        });
        return Collections.unmodifiableMap(out);
    }
}
