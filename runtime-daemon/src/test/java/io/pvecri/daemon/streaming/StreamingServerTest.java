package io.pvecri.daemon.streaming;

import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import io.pvecri.daemon.config.DaemonConfig;
import io.pvecri.daemon.e2e.stream.PortForwardClient;
import io.pvecri.daemon.e2e.stream.RemoteCommand;
import io.pvecri.daemon.e2e.stream.RemoteCommand.Transport;
import io.pvecri.daemon.e2e.stream.SpdyClient;
import io.pvecri.daemon.e2e.stream.UpgradeFailed;
import io.pvecri.daemon.e2e.stream.WsClient;
import io.pvecri.daemon.errors.CriException;
import io.pvecri.proto.cri.v1.AttachRequest;
import io.pvecri.proto.cri.v1.ExecRequest;
import io.pvecri.proto.cri.v1.PortForwardRequest;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The streaming server's protocols against a fake runtime that runs commands on this host (no
 * LXC): SPDY and WebSocket exec with exit codes, stdin, tty and resize; port-forward to a local
 * echo server; tokens; limits; and that a dropped client takes its process down.
 */
class StreamingServerTest {
    static final Duration T = Duration.ofSeconds(15);
    static final Path SHIM = Path.of(System.getProperty("pvecri.shim", "target/native/pve-cri-init")).toAbsolutePath();

    static StreamingService service;
    static ServerSocket echo;
    static final List<Socket> echoConns = new ArrayList<>();

    /** Runs commands directly on the host; container "tty" has a terminal. */
    static final class HostRuntime implements StreamingRuntime {
        @Override
        public Container runningContainer(String id) {
            if (id.startsWith("gone")) {
                throw CriException.notFound("container \"" + id + "\" not found");
            }
            return new Container(id, id.startsWith("tty"), true, false);
        }

        @Override
        public Pod readyPod(String id) {
            return new Pod(id, null);
        }

        @Override
        public List<String> execArgv(Container c, List<String> cmd, boolean tty) {
            return cmd;
        }

        @Override
        public Path attachSocket(Container c) {
            return Path.of("/nonexistent/attach.sock");
        }

        @Override
        public Path shimBinary() {
            return SHIM;
        }
    }

    @BeforeAll
    static void start() throws IOException {
        service = new StreamingService(new DaemonConfig.Streaming("127.0.0.1", 0, 2, 60, 8, null, null), new HostRuntime(),
                new SimpleMeterRegistry(), Duration.ofSeconds(3));
        service.start();
        echo = new ServerSocket(0, 50, InetAddress.getLoopbackAddress());
        Thread.ofVirtual().start(() -> {
            while (!echo.isClosed()) {
                try {
                    Socket s = echo.accept();
                    echoConns.add(s);
                    Thread.ofVirtual().start(() -> {
                        try (s; InputStream in = s.getInputStream(); OutputStream out = s.getOutputStream()) {
                            in.transferTo(out);
                        } catch (IOException ignored) {
                            // closed
                        }
                    });
                } catch (IOException e) {
                    return;
                }
            }
        });
    }

    @AfterAll
    static void stop() throws IOException {
        service.close();
        echo.close();
    }

    static String exec(boolean stdin, boolean tty, String... cmd) {
        return service.exec(ExecRequest.newBuilder().setContainerId(tty ? "tty-1" : "c-1").addAllCmd(List.of(cmd))
                .setStdin(stdin).setStdout(true).setStderr(!tty).setTty(tty).build()).getUrl();
    }

    @ParameterizedTest
    @EnumSource(Transport.class)
    void execReportsOutputAndExitCode(Transport t) throws Exception {
        try (RemoteCommand rc = RemoteCommand.open(t, exec(false, false, "sh", "-c", "echo out; echo err >&2; exit 3"),
                false, true, true, false)) {
            String status = rc.awaitStatus(T);
            assertEquals("out\n", rc.stdout.text());
            assertEquals("err\n", rc.stderr.text());
            assertEquals("{\"metadata\":{},\"status\":\"Failure\",\"message\":\"command terminated with non-zero exit code: "
                    + "error executing command [sh -c echo out; echo err >&2; exit 3], exit code 3\",\"reason\":\"NonZeroExitCode\","
                    + "\"details\":{\"causes\":[{\"reason\":\"ExitCode\",\"message\":\"3\"}]}}", status);
        }
    }

    @ParameterizedTest
    @EnumSource(Transport.class)
    void execSuccessStatus(Transport t) throws Exception {
        try (RemoteCommand rc = RemoteCommand.open(t, exec(false, false, "echo", "hi"), false, true, true, false)) {
            assertEquals("{\"metadata\":{},\"status\":\"Success\"}", rc.awaitStatus(T));
            assertEquals("hi\n", rc.stdout.text());
        }
    }

    @ParameterizedTest
    @EnumSource(Transport.class)
    void stdinIsEchoedAndItsEndEndsCat(Transport t) throws Exception {
        try (RemoteCommand rc = RemoteCommand.open(t, exec(true, false, "cat"), true, true, true, false)) {
            rc.stdin("hello\n");
            rc.stdout.await(s -> s.equals("hello\n"), T, "echo of stdin");
            rc.stdin("world\n");
            rc.closeStdin();
            assertEquals("{\"metadata\":{},\"status\":\"Success\"}", rc.awaitStatus(T));
            assertEquals("hello\nworld\n", rc.stdout.text());
        }
    }

    @ParameterizedTest
    @EnumSource(Transport.class)
    void ttyGetsTheRequestedSize(Transport t) throws Exception {
        try (RemoteCommand rc = RemoteCommand.open(t, exec(true, true, "sh", "-c", "stty size; read x; stty size"), true, true, false, true)) {
            rc.resize(100, 30);
            rc.stdout.await(s -> s.contains("30 100"), T, "the first size");
            rc.resize(120, 40);
            Thread.sleep(100);
            rc.stdin("\n");
            rc.stdout.await(s -> s.contains("40 120"), T, "the size after resize");
            assertEquals("{\"metadata\":{},\"status\":\"Success\"}", rc.awaitStatus(T));
        }
    }

    @ParameterizedTest
    @EnumSource(Transport.class)
    void largeOutputArrivesWhole(Transport t) throws Exception {
        int size = 10 * 1024 * 1024;
        try (RemoteCommand rc = RemoteCommand.open(t, exec(false, false, "head", "-c", Integer.toString(size), "/dev/zero"),
                false, true, true, false)) {
            assertEquals("{\"metadata\":{},\"status\":\"Success\"}", rc.awaitStatus(Duration.ofSeconds(60)));
            assertEquals(size, rc.stdout.size());
        }
    }

    @Test
    void oldProtocolsGetTextErrors() throws Exception {
        try (RemoteCommand rc = RemoteCommand.open(Transport.SPDY, exec(false, false, "sh", "-c", "exit 2"), false, true, true, false,
                "v2.channel.k8s.io")) {
            assertEquals("command terminated with non-zero exit code: error executing command [sh -c exit 2], exit code 2",
                    rc.awaitStatus(T));
        }
        try (RemoteCommand rc = RemoteCommand.open(Transport.WEBSOCKET, exec(false, false, "true"), false, true, true, false,
                "base64.channel.k8s.io")) {
            assertEquals("", rc.awaitStatus(T));
        }
    }

    @Test
    void tokensAreSingleUseAndExpire() throws Exception {
        String url = exec(false, false, "true");
        try (RemoteCommand rc = RemoteCommand.open(Transport.SPDY, url, false, true, true, false)) {
            rc.awaitStatus(T);
        }
        UpgradeFailed reused = assertThrows(UpgradeFailed.class, () -> SpdyClient.connect(url, List.of("v4.channel.k8s.io")));
        assertEquals(404, reused.status());
        assertTrue(reused.body().contains("unknown, expired or already used"), reused.body());

        String expired = exec(false, false, "true");
        Thread.sleep(2500); // TTL is 2 s here
        UpgradeFailed late = assertThrows(UpgradeFailed.class, () -> WsClient.connect(expired, "v5.channel.k8s.io"));
        assertEquals(404, late.status());

        UpgradeFailed unknown = assertThrows(UpgradeFailed.class,
                () -> SpdyClient.connect(service.baseUrl() + "/exec/nosuchtoken", List.of("v4.channel.k8s.io")));
        assertEquals(404, unknown.status());
        String attachUrl = url.replace("/exec/", "/attach/");
        assertEquals(404, assertThrows(UpgradeFailed.class, () -> SpdyClient.connect(attachUrl, List.of("v4.channel.k8s.io"))).status());
    }

    @Test
    void protocolNegotiationFailsClearly() throws Exception {
        UpgradeFailed f = assertThrows(UpgradeFailed.class, () -> SpdyClient.connect(exec(false, false, "true"), List.of("v9.channel.k8s.io")));
        assertEquals(403, f.status());
        assertTrue(f.body().contains("unable to negotiate protocol"), f.body());
    }

    @Test
    void badRequestsAreRefused() {
        assertThrows(CriException.InvalidArgument.class, () -> service.exec(ExecRequest.newBuilder().setContainerId("c").setStdout(true).build()));
        assertThrows(CriException.InvalidArgument.class, () -> service.exec(ExecRequest.newBuilder().setContainerId("c").addCmd("x").build()));
        assertThrows(CriException.InvalidArgument.class, () -> service.exec(ExecRequest.newBuilder().setContainerId("c").addCmd("x")
                .setTty(true).setStderr(true).build()));
        assertThrows(CriException.NotFound.class, () -> service.exec(ExecRequest.newBuilder().setContainerId("gone").addCmd("x")
                .setStdout(true).build()));
        assertThrows(CriException.FailedPrecondition.class, () -> service.attach(AttachRequest.newBuilder().setContainerId("c")
                .setStdout(true).build()));
        assertThrows(CriException.InvalidArgument.class, () -> service.portForward(PortForwardRequest.newBuilder().build()));
        assertThrows(CriException.InvalidArgument.class, () -> service.portForward(PortForwardRequest.newBuilder().setPodSandboxId("p")
                .addPort(70000).build()));
    }

    @Test
    void streamsNotOpenedInTimeEndTheSession() throws Exception {
        SpdyClient c = SpdyClient.connect(exec(false, false, "true"), List.of("v4.channel.k8s.io"));
        c.open(Map.of("streamType", "error"));
        assertTrue(c.awaitClosed(Duration.ofSeconds(10)), "the server should close after its stream creation timeout");
        assertEquals(0, waitForNoSessions());
    }

    @Test
    void droppedClientKillsTheProcess() throws Exception {
        Path marker = Files.createTempFile("stream-test", ".pid");
        try {
            RemoteCommand rc = RemoteCommand.open(Transport.SPDY,
                    exec(true, false, "sh", "-c", "echo $$ > " + marker + "; echo started; exec sleep 1000"), true, true, true, false);
            rc.stdout.await(s -> s.contains("started"), T, "the command to start");
            long pid = Long.parseLong(Files.readString(marker).strip());
            assertTrue(ProcessHandle.of(pid).isPresent());
            rc.abort();
            long deadline = System.nanoTime() + T.toNanos();
            while (ProcessHandle.of(pid).map(ProcessHandle::isAlive).orElse(false) && System.nanoTime() < deadline) {
                Thread.sleep(50);
            }
            assertFalse(ProcessHandle.of(pid).map(ProcessHandle::isAlive).orElse(false), "the exec'd process outlived its client");
            assertEquals(0, waitForNoSessions());
        } finally {
            Files.deleteIfExists(marker);
        }
    }

    @ParameterizedTest
    @org.junit.jupiter.params.provider.ValueSource(booleans = {false, true})
    void portForwardOverSpdy(boolean tunnelled) throws Exception {
        String url = service.portForward(PortForwardRequest.newBuilder().setPodSandboxId("p1").build()).getUrl();
        try (PortForwardClient.Spdy pf = tunnelled ? PortForwardClient.Spdy.connectTunnel(url) : PortForwardClient.Spdy.connect(url)) {
            PortForwardClient.Connection a = pf.forward(echo.getLocalPort());
            PortForwardClient.Connection b = pf.forward(echo.getLocalPort());
            a.write("ping-a\n");
            b.write("ping-b\n");
            a.awaitData("ping-a\n", T);
            b.awaitData("ping-b\n", T);
            a.closeWrite();
            a.data().in.awaitEnd(T, "the end of the echoed data");
            PortForwardClient.Connection refused = pf.forward(1);
            assertTrue(refused.awaitError(T).contains("error forwarding port 1 to pod p1"), "connect failure is reported");
        }
    }

    @Test
    void portForwardOverWebSocket() throws Exception {
        int port = echo.getLocalPort();
        String url = service.portForward(PortForwardRequest.newBuilder().setPodSandboxId("p1").addPort(port).build()).getUrl();
        try (WsClient ws = WsClient.connect(url, "v4.channel.k8s.io")) {
            byte[] prefix = {(byte) port, (byte) (port >> 8)};
            ws.channel(0).awaitBytes(2, T, "the port prefix");
            assertEquals(new String(prefix, StandardCharsets.ISO_8859_1), new String(ws.channel(0).bytes(), 0, 2, StandardCharsets.ISO_8859_1));
            ws.send(0, "over-websocket\n");
            ws.channel(0).await(s -> s.endsWith("over-websocket\n"), T, "echo");
        }
    }

    @Test
    void concurrencyLimitGives429() throws Exception {
        List<RemoteCommand> held = new ArrayList<>();
        try {
            for (int i = 0; i < service.sessions().max(); i++) {
                held.add(RemoteCommand.open(Transport.WEBSOCKET, exec(true, false, "cat"), true, true, true, false));
            }
            UpgradeFailed f = assertThrows(UpgradeFailed.class, () -> SpdyClient.connect(exec(false, false, "true"), List.of("v4.channel.k8s.io")));
            assertEquals(429, f.status());
        } finally {
            held.forEach(RemoteCommand::abort);
        }
        assertEquals(0, waitForNoSessions());
    }

    static int waitForNoSessions() throws InterruptedException {
        long deadline = System.nanoTime() + T.toNanos();
        while (service.activeSessions() > 0 && System.nanoTime() < deadline) {
            Thread.sleep(20);
        }
        return service.activeSessions();
    }
}
