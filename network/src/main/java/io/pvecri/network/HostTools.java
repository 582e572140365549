package io.pvecri.network;

import com.fasterxml.jackson.databind.JsonNode;

import java.io.IOException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;

/** {@code ip}, {@code nft} and {@code sysctl} in one network namespace. */
final class HostTools {
    private final Netns netns;
    private final Duration timeout;

    HostTools(Netns netns, Duration timeout) {
        this.netns = netns;
        this.timeout = timeout;
    }

    Netns netns() {
        return netns;
    }

    Duration timeout() {
        return timeout;
    }

    HostTools in(Netns other) {
        return new HostTools(other, timeout);
    }

    /** Runs {@code ip args...}; throws with the command's stderr when it fails. */
    String ip(String... args) throws IOException {
        List<String> argv = new ArrayList<>(List.of("ip"));
        argv.addAll(List.of(args));
        return check(Exec.run(netns.wrap(argv), null, null, timeout)).stdout();
    }

    /** Runs {@code ip args...} and returns the result whatever its exit status. */
    Exec.Result ipResult(String... args) throws IOException {
        List<String> argv = new ArrayList<>(List.of("ip"));
        argv.addAll(List.of(args));
        return Exec.run(netns.wrap(argv), null, null, timeout);
    }

    /** {@code ip -j args...} parsed; an empty array when ip prints nothing. */
    JsonNode ipJson(String... args) throws IOException {
        List<String> argv = new ArrayList<>(List.of("ip", "-j"));
        argv.addAll(List.of(args));
        String out = check(Exec.run(netns.wrap(argv), null, null, timeout)).stdout().strip();
        return out.isEmpty() ? Json.MAPPER.createArrayNode() : Json.MAPPER.readTree(out);
    }

    /** Runs several ip commands in one process ({@code ip -batch -}); stops at the first failure. */
    void ipBatch(List<String> lines) throws IOException {
        if (lines.isEmpty()) {
            return;
        }
        check(Exec.run(netns.wrap(List.of("ip", "-batch", "-")), String.join("\n", lines) + "\n", null, timeout));
    }

    /** Loads an nft script ({@code nft -f -}) as one transaction. */
    Exec.Result nft(String script) throws IOException {
        return Exec.run(netns.wrap(List.of("nft", "-f", "-")), script, null, timeout);
    }

    /** {@code nft args...} output. */
    Exec.Result nftCommand(String... args) throws IOException {
        List<String> argv = new ArrayList<>(List.of("nft"));
        argv.addAll(List.of(args));
        return Exec.run(netns.wrap(argv), null, null, timeout);
    }

    /** {@code sysctl -q -w key=value...}. */
    void sysctl(String... assignments) throws IOException {
        List<String> argv = new ArrayList<>(List.of("sysctl", "-q", "-w"));
        argv.addAll(List.of(assignments));
        check(Exec.run(netns.wrap(argv), null, null, timeout));
    }

    static Exec.Result check(Exec.Result r) throws IOException {
        if (!r.ok()) {
            throw new IOException(r.describe());
        }
        return r;
    }
}
