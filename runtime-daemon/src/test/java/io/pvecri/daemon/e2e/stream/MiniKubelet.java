package io.pvecri.daemon.e2e.stream;

import io.pvecri.proto.cri.v1.AttachRequest;
import io.pvecri.proto.cri.v1.ExecRequest;
import io.pvecri.proto.cri.v1.PortForwardRequest;
import io.pvecri.proto.cri.v1.RuntimeServiceGrpc;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.net.URI;
import java.net.URLDecoder;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.function.Supplier;

/**
 * Just enough of the API server and kubelet for kubectl's exec, attach and port-forward: answers
 * {@code GET /api/v1/namespaces/<ns>/pods/<pod>} with a running pod, and for
 * {@code .../pods/<pod>/{exec,attach,portforward}} does what kubelet does: calls the CRI
 * Exec/Attach/PortForward with the request's options and relays the upgrade request (SPDY or
 * WebSocket, untouched) to the URL the runtime returned. kubectl's own Go clients then talk to
 * the pve-cri streaming server.
 */
public final class MiniKubelet implements AutoCloseable {
    /** A pod kubectl may address: its sandbox id and container name to id. */
    public record Pod(String sandboxId, Map<String, String> containers) {}

    private final ServerSocket server;
    private final Supplier<RuntimeServiceGrpc.RuntimeServiceBlockingStub> runtime;
    private final Map<String, Pod> pods;
    /** What was relayed: "exec websocket", "portforward spdy"... */
    public final List<String> relayed = new java.util.concurrent.CopyOnWriteArrayList<>();

    public MiniKubelet(Supplier<RuntimeServiceGrpc.RuntimeServiceBlockingStub> runtime, Map<String, Pod> pods) throws IOException {
        this.runtime = runtime;
        this.pods = pods;
        this.server = new ServerSocket(0, 50, InetAddress.getLoopbackAddress());
        Thread.ofVirtual().start(this::accept);
    }

    public String url() {
        return "http://127.0.0.1:" + server.getLocalPort();
    }

    private void accept() {
        while (!server.isClosed()) {
            try {
                Socket s = server.accept();
                Thread.ofVirtual().start(() -> handle(s));
            } catch (IOException e) {
                return;
            }
        }
    }

    private void handle(Socket client) {
        try (client) {
            InputStream in = client.getInputStream();
            String head = readHead(in);
            String[] lines = head.split("\r\n");
            String[] requestLine = lines[0].split(" ");
            URI uri = URI.create(requestLine[1]);
            Map<String, List<String>> query = query(uri.getRawQuery());
            String[] path = uri.getPath().split("/");
            String discovery = switch (uri.getPath()) {
                case "/api" -> "{\"kind\":\"APIVersions\",\"versions\":[\"v1\"],\"serverAddressByClientCIDRs\":[{\"clientCIDR\":\"0.0.0.0/0\",\"serverAddress\":\"127.0.0.1\"}]}";
                case "/apis" -> "{\"kind\":\"APIGroupList\",\"apiVersion\":\"v1\",\"groups\":[]}";
                case "/api/v1" -> "{\"kind\":\"APIResourceList\",\"groupVersion\":\"v1\",\"resources\":["
                        + "{\"name\":\"pods\",\"singularName\":\"pod\",\"namespaced\":true,\"kind\":\"Pod\",\"verbs\":[\"get\",\"list\"],\"shortNames\":[\"po\"]},"
                        + "{\"name\":\"pods/exec\",\"singularName\":\"\",\"namespaced\":true,\"kind\":\"PodExecOptions\",\"verbs\":[\"create\",\"get\"]},"
                        + "{\"name\":\"pods/attach\",\"singularName\":\"\",\"namespaced\":true,\"kind\":\"PodAttachOptions\",\"verbs\":[\"create\",\"get\"]},"
                        + "{\"name\":\"pods/portforward\",\"singularName\":\"\",\"namespaced\":true,\"kind\":\"PodPortForwardOptions\",\"verbs\":[\"create\",\"get\"]}]}";
                case "/version" -> "{\"major\":\"1\",\"minor\":\"32\",\"gitVersion\":\"v1.32.0\"}";
                default -> null;
            };
            if (discovery != null) {
                respond(client.getOutputStream(), 200, discovery);
                return;
            }
            // /api/v1/namespaces/<ns>/pods/<pod>[/<sub>]
            if (path.length < 7 || !path[5].equals("pods") || !pods.containsKey(path[6])) {
                respond(client.getOutputStream(), 404, "{\"kind\":\"Status\",\"apiVersion\":\"v1\",\"status\":\"Failure\",\"message\":\"not found\",\"reason\":\"NotFound\",\"code\":404}");
                return;
            }
            Pod pod = pods.get(path[6]);
            if (path.length == 7) {
                StringBuilder cs = new StringBuilder();
                for (String name : pod.containers().keySet()) {
                    cs.append(cs.isEmpty() ? "" : ",").append("{\"name\":\"").append(name).append("\",\"image\":\"busybox\"}");
                }
                respond(client.getOutputStream(), 200, "{\"kind\":\"Pod\",\"apiVersion\":\"v1\",\"metadata\":{\"name\":\"" + path[6]
                        + "\",\"namespace\":\"" + path[4] + "\",\"uid\":\"u\"},\"spec\":{\"containers\":[" + cs
                        + "]},\"status\":{\"phase\":\"Running\"}}");
                return;
            }
            boolean ws = head.toLowerCase().contains("\nupgrade: websocket");
            String container = pod.containers().get(first(query, "container", pod.containers().keySet().iterator().next()));
            boolean tty = flag(query, "tty");
            String url = switch (path[7]) {
                case "exec" -> runtime.get().exec(ExecRequest.newBuilder().setContainerId(container).addAllCmd(query.getOrDefault("command", List.of()))
                        .setStdin(flag(query, "stdin")).setStdout(flag(query, "stdout")).setStderr(flag(query, "stderr") && !tty).setTty(tty)
                        .build()).getUrl();
                case "attach" -> runtime.get().attach(AttachRequest.newBuilder().setContainerId(container)
                        .setStdin(flag(query, "stdin")).setStdout(flag(query, "stdout")).setStderr(flag(query, "stderr") && !tty).setTty(tty)
                        .build()).getUrl();
                case "portforward" -> {
                    // WebSocket here is SPDY/3.1+portforward.k8s.io (the API server would translate it; pve-cri speaks it)
                    PortForwardRequest.Builder b = PortForwardRequest.newBuilder().setPodSandboxId(pod.sandboxId());
                    for (String p : query.getOrDefault("ports", List.of())) {
                        b.addPort(Integer.parseInt(p));
                    }
                    yield runtime.get().portForward(b.build()).getUrl();
                }
                default -> null;
            };
            if (url == null) {
                return;
            }
            relayed.add(path[7] + " " + (ws ? "websocket" : "spdy"));
            URI target = URI.create(url);
            try (Socket upstream = new Socket(target.getHost(), target.getPort())) {
                StringBuilder req = new StringBuilder(requestLine[0] + " " + target.getRawPath() + " HTTP/1.1\r\n");
                for (int i = 1; i < lines.length; i++) {
                    if (!lines[i].toLowerCase().startsWith("host:")) {
                        req.append(lines[i]).append("\r\n");
                    }
                }
                req.append("Host: ").append(target.getHost()).append(':').append(target.getPort()).append("\r\n\r\n");
                OutputStream up = upstream.getOutputStream();
                up.write(req.toString().getBytes(StandardCharsets.ISO_8859_1));
                up.flush();
                Thread back = Thread.ofVirtual().start(() -> pipe(upstream, client));
                pipe(client, upstream);
                back.join(TimeUnit.MINUTES.toMillis(2));
            }
        } catch (Exception e) {
            // the client or the runtime went away
        }
    }

    private static void pipe(Socket from, Socket to) {
        try {
            from.getInputStream().transferTo(to.getOutputStream());
            to.shutdownOutput();
        } catch (IOException e) {
            try {
                to.close();
            } catch (IOException ignored) {
                // closing
            }
        }
    }

    private static String readHead(InputStream in) throws IOException {
        ByteArrayOutputStream b = new ByteArrayOutputStream();
        int state = 0;
        while (state < 4) {
            int c = in.read();
            if (c < 0) {
                throw new IOException("eof in the request head");
            }
            b.write(c);
            state = (c == '\r' && (state == 0 || state == 2)) || (c == '\n' && (state == 1 || state == 3)) ? state + 1 : 0;
        }
        return b.toString(StandardCharsets.ISO_8859_1);
    }

    private static Map<String, List<String>> query(String raw) {
        Map<String, List<String>> q = new LinkedHashMap<>();
        if (raw == null) {
            return q;
        }
        for (String kv : raw.split("&")) {
            int eq = kv.indexOf('=');
            String k = URLDecoder.decode(eq < 0 ? kv : kv.substring(0, eq), StandardCharsets.UTF_8);
            String v = eq < 0 ? "" : URLDecoder.decode(kv.substring(eq + 1), StandardCharsets.UTF_8);
            q.computeIfAbsent(k, x -> new ArrayList<>()).add(v);
        }
        return q;
    }

    private static boolean flag(Map<String, List<String>> q, String k) {
        String v = first(q, k, "");
        return v.equals("1") || v.equalsIgnoreCase("true");
    }

    private static String first(Map<String, List<String>> q, String k, String dflt) {
        List<String> v = q.get(k);
        return v == null || v.isEmpty() ? dflt : v.getFirst();
    }

    private static void respond(OutputStream out, int code, String json) throws IOException {
        byte[] body = json.getBytes(StandardCharsets.UTF_8);
        out.write(("HTTP/1.1 " + code + " X\r\nContent-Type: application/json\r\nContent-Length: " + body.length
                + "\r\nConnection: close\r\n\r\n").getBytes(StandardCharsets.ISO_8859_1));
        out.write(body);
        out.flush();
    }

    @Override
    public void close() throws IOException {
        server.close();
    }
}
