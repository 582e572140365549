package io.pvecri.daemon.streaming;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.ObjectMapper;

import java.nio.charset.StandardCharsets;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * The end of an exec or attach session as kubelet reports it on the error stream: a
 * {@code metav1.Status} (protocol v4/v5: JSON; older protocols: the message text of a failure,
 * nothing for success). The JSON has the field order and omissions of Go's encoding/json.
 */
record Status(boolean success, String message, String reason, List<Map<String, String>> causes, int code) {
    private static final ObjectMapper JSON = new ObjectMapper();

    static Status ok() {
        return new Status(true, null, null, List.of(), 0);
    }

    /** A command that ran and exited non-zero (kubelet's NonZeroExitCode status). */
    static Status exitCode(List<String> cmd, int exitCode) {
        return new Status(false,
                "command terminated with non-zero exit code: error executing command [" + String.join(" ", cmd)
                        + "], exit code " + exitCode,
                "NonZeroExitCode", List.of(Map.of("reason", "ExitCode", "message", Integer.toString(exitCode))), 0);
    }

    /** Anything else that went wrong (apierrors.NewInternalError). */
    static Status internal(String what) {
        return new Status(false, "Internal error occurred: " + what, "InternalError", List.of(Map.of("message", what)), 500);
    }

    /** The exit code a status carries: 0 for success, the code for NonZeroExitCode, else -1. */
    int exitCodeOrMinusOne() {
        if (success) {
            return 0;
        }
        if ("NonZeroExitCode".equals(reason) && !causes.isEmpty()) {
            return Integer.parseInt(causes.getFirst().get("message"));
        }
        return -1;
    }

    byte[] json() {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("metadata", Map.of());
        m.put("status", success ? "Success" : "Failure");
        if (message != null) {
            m.put("message", message);
        }
        if (reason != null) {
            m.put("reason", reason);
        }
        if (!causes.isEmpty()) {
            List<Map<String, String>> cs = causes.stream().map(c -> {
                Map<String, String> o = new LinkedHashMap<>();
                if (c.containsKey("reason")) {
                    o.put("reason", c.get("reason"));
                }
                if (c.containsKey("message")) {
                    o.put("message", c.get("message"));
                }
                return o;
            }).toList();
            m.put("details", Map.of("causes", cs));
        }
        if (code != 0) {
            m.put("code", code);
        }
        try {
            return JSON.writeValueAsBytes(m);
        } catch (JsonProcessingException e) {
            throw new IllegalStateException(e);
        }
    }

    /** What protocols before v4 write: the error text for a failure, nothing on success. */
    byte[] text() {
        return success ? new byte[0] : message.getBytes(StandardCharsets.UTF_8);
    }
}
