package io.pvecri.proxmox.emulator;

import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.TreeSet;
import java.util.regex.Pattern;

import static io.pvecri.proxmox.emulator.ParamSchema.Kind.STRING;

/**
 * {@code GET /access/permissions} as {@code PVE::API2::AccessControl} answers a privsep API token: every
 * token holds the {@code Administrator} role on {@code /}, less what {@link EmulatedCluster#deny} took away
 * (on the denied path and below it, as {@link EmulatedCluster#check} enforces).
 */
final class AccessHandlers {

    // PVE::AccessControl::userid_or_token_regex, simplified: user@realm or user@realm!token
    private static final Pattern USERID_OR_TOKEN =
            Pattern.compile("^[^\\s:/]+@[A-Za-z][A-Za-z0-9.\\-_]+(![A-Za-z][A-Za-z0-9.\\-_]+)?$");

    private final EmulatorConfig config;
    private final EmulatedCluster cluster;

    AccessHandlers(EmulatorConfig config, EmulatedCluster cluster) {
        this.config = config;
        this.cluster = cluster;
    }

    void register(Router r) {
        r.route("GET", "/access/permissions", ParamSchema.of().opt("path", STRING).opt("userid", STRING), this::permissions);
    }

    private Reply permissions(Call c) {
        String userid = c.param("userid", c.user());
        if (!USERID_OR_TOKEN.matcher(userid).matches()) {
            throw PveError.param("userid", "value does not match the regex pattern");
        }
        // a token asking about anyone but itself needs Sys.Audit on /access (a token owns no tokens)
        if (!userid.equals(c.user())) {
            cluster.check("/access", "Sys.Audit");
        }
        String path = c.param("path");
        if (path != null && !path.isEmpty()) {
            // PVE answers { path => privs } even when privs is empty (a hash ref is always true)
            return Reply.of(Map.of(path, flags(privileges(userid, path))));
        }
        Map<String, Object> out = new TreeMap<>();
        for (String p : cluster.aclPaths()) {
            Map<String, Integer> privs = flags(privileges(userid, p));
            if (!privs.isEmpty()) {
                out.put(p, privs);
            }
        }
        return Reply.of(out);
    }

    /** A configured token: the emulator's ACL model; root@pam: Administrator everywhere; anyone else: nothing. */
    private Set<String> privileges(String userid, String path) {
        if (config.tokens().containsKey(userid)) {
            return cluster.privileges(path);
        }
        if (userid.equals("root@pam")) {
            return Privileges.ADMINISTRATOR;
        }
        return Set.of();
    }

    /** {@code privilege => propagate flag}: the emulator's ACL entries all propagate. */
    private static Map<String, Integer> flags(Set<String> privileges) {
        Map<String, Integer> out = new LinkedHashMap<>();
        new TreeSet<>(privileges).forEach(p -> out.put(p, 1));
        return out;
    }
}
