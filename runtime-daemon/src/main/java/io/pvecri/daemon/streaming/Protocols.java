package io.pvecri.daemon.streaming;

import java.util.ArrayList;
import java.util.List;

/** The protocol names of the Kubernetes streaming API and the server's negotiation rules. */
final class Protocols {
    private Protocols() {}

    static final String SPDY_31 = "SPDY/3.1";
    static final String HEADER_PROTOCOL_VERSION = "X-Stream-Protocol-Version";
    static final String HEADER_ACCEPTED_VERSIONS = "X-Accepted-Stream-Protocol-Versions";

    // remote command over SPDY (X-Stream-Protocol-Version); v5 behaves as v4 on SPDY
    static final String RC_V1 = "channel.k8s.io";
    static final String RC_V2 = "v2.channel.k8s.io";
    static final String RC_V3 = "v3.channel.k8s.io";
    static final String RC_V4 = "v4.channel.k8s.io";
    static final String RC_V5 = "v5.channel.k8s.io";
    static final List<String> SPDY_REMOTE_COMMAND = List.of(RC_V5, RC_V4, RC_V3, RC_V2, RC_V1);

    // port-forward over SPDY
    static final String PORT_FORWARD_V1 = "portforward.k8s.io";
    static final List<String> SPDY_PORT_FORWARD = List.of(PORT_FORWARD_V1);

    // WebSocket subprotocols (Sec-WebSocket-Protocol); "" means the client named none
    static final String WS_V1 = "channel.k8s.io";
    static final String WS_V1_BASE64 = "base64.channel.k8s.io";
    static final String WS_V4 = "v4.channel.k8s.io";
    static final String WS_V4_BASE64 = "v4.base64.channel.k8s.io";
    static final String WS_V5 = "v5.channel.k8s.io";
    static final List<String> WS_REMOTE_COMMAND = List.of(WS_V5, WS_V4, WS_V4_BASE64, WS_V1, WS_V1_BASE64, "");
    static final List<String> WS_PORT_FORWARD = List.of(WsTunnel.PORT_FORWARD, WS_V4, WS_V4_BASE64, "");

    /** Splits repeated and comma-separated header values, in the client's order of preference. */
    static List<String> values(List<String> header) {
        List<String> out = new ArrayList<>();
        for (String h : header) {
            for (String v : h.split(",")) {
                String t = v.strip();
                if (!t.isEmpty()) {
                    out.add(t);
                }
            }
        }
        return out;
    }

    /** The first of the client's protocols that the server supports, or null. */
    static String negotiate(List<String> client, List<String> server) {
        for (String c : client) {
            if (server.contains(c)) {
                return c;
            }
        }
        return null;
    }

    /** Whether an error stream carries a JSON metav1.Status (v4 and later) or plain text. */
    static boolean jsonStatus(String protocol) {
        return protocol.equals(RC_V4) || protocol.equals(RC_V5) || protocol.equals(WS_V4) || protocol.equals(WS_V4_BASE64)
                || protocol.equals(WS_V5);
    }

    /** Whether the protocol has a resize stream (SPDY v3 and later; every WebSocket version). */
    static boolean spdyResize(String protocol) {
        return protocol.equals(RC_V3) || protocol.equals(RC_V4) || protocol.equals(RC_V5);
    }
}
