package io.pvecri.proxmox.emulator;

import java.util.Map;

/**
 * A routed request: the request, its path parameters, and the authenticated token id (the "user"
 * PVE sees for a token request is {@code user@realm!token}).
 */
record Call(EmuRequest request, Map<String, String> pathParams, String user) {

    String node() {
        return pathParams.get("node");
    }

    /** The {@code vmid} from the path, or from the parameters (create). */
    int vmid() {
        String v = pathParams.containsKey("vmid") ? pathParams.get("vmid") : request.param("vmid");
        return Integer.parseInt(v.startsWith("+") ? v.substring(1) : v);
    }

    String path(String name) {
        return pathParams.get(name);
    }

    String param(String name) {
        return request.param(name);
    }

    String param(String name, String dflt) {
        String v = request.param(name);
        return v == null ? dflt : v;
    }

    boolean flag(String name, boolean dflt) {
        String v = request.param(name);
        return v == null ? dflt : v.equals("1");
    }

    int integer(String name, int dflt) {
        String v = request.param(name);
        return v == null ? dflt : Integer.parseInt(v.startsWith("+") ? v.substring(1) : v);
    }
}
