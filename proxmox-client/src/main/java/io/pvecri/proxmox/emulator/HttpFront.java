package io.pvecri.proxmox.emulator;

import javax.net.ssl.SSLContext;
import javax.net.ssl.SSLServerSocket;
import java.io.BufferedInputStream;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.lang.System.Logger.Level;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.net.SocketTimeoutException;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.function.Function;

/**
 * A small HTTP/1.1 server over TLS, written out by hand instead of {@code com.sun.net.httpserver}
 * because PVE's errors live in the reason phrase ({@code HTTP/1.1 500 CT is locked (disk)}), which the
 * JDK server cannot set, and because faults need to drop a connection mid-request. Keep-alive like
 * pveproxy: idle connections close after 5 s, error replies close the connection.
 */
final class HttpFront implements AutoCloseable {

    private static final System.Logger LOG = System.getLogger(HttpFront.class.getName());
    private static final String PREFIX = "/api2/json";
    private static final int MAX_HEADER = 64 * 1024;
    private static final int MAX_BODY = 64 * 1024 * 1024;

    /** Multipart bodies larger than this are spooled to disk when a spool directory is set. */
    private static final long SPOOL_ABOVE = 1 << 20;

    private final ServerSocket server;
    private final java.nio.file.Path spoolDir;
    private final Function<EmuRequest, EmuResponse> handler;
    private final Set<Socket> open = ConcurrentHashMap.newKeySet();
    private final Thread acceptor;
    private volatile boolean closed;

    /** @param spoolDir where large uploads are spooled ({@code var/tmp} of a state directory), or null to keep them in memory */
    HttpFront(SSLContext tls, InetAddress address, int port, java.nio.file.Path spoolDir, Function<EmuRequest, EmuResponse> handler)
            throws IOException {
        this.handler = handler;
        this.spoolDir = spoolDir;
        SSLServerSocket s = (SSLServerSocket) tls.getServerSocketFactory().createServerSocket();
        s.setReuseAddress(true);
        s.bind(new InetSocketAddress(address, port));
        this.server = s;
        this.acceptor = Thread.ofVirtual().name("pve-emulator-accept").start(this::acceptLoop);
    }

    int port() {
        return server.getLocalPort();
    }

    private void acceptLoop() {
        while (!closed) {
            try {
                Socket c = server.accept();
                open.add(c);
                Thread.ofVirtual().name("pve-emulator-conn").start(() -> serve(c));
            } catch (IOException e) {
                if (!closed) {
                    LOG.log(Level.WARNING, "accept failed: " + e);
                }
            }
        }
    }

    private void serve(Socket c) {
        try (c) {
            c.setSoTimeout(5_000);
            InputStream in = new BufferedInputStream(c.getInputStream());
            OutputStream out = c.getOutputStream();
            while (!closed) {
                EmuRequest req = read(in);
                if (req == null) {
                    return;
                }
                EmuResponse resp;
                try {
                    resp = handler.apply(req);
                } finally {
                    // a spooled upload the handler did not take over is removed
                    for (EmuRequest.FilePart f : req.files().values()) {
                        if (f.spooled() != null) {
                            java.nio.file.Files.deleteIfExists(f.spooled());
                        }
                    }
                }
                if (resp.drop()) {
                    return;
                }
                boolean keepAlive = resp.status() < 400 && !"close".equalsIgnoreCase(req.header("connection"));
                write(out, resp, keepAlive);
                if (!keepAlive) {
                    return;
                }
            }
        } catch (SocketTimeoutException e) {
            // idle keep-alive connection: close, as pveproxy does
        } catch (IOException e) {
            LOG.log(Level.DEBUG, () -> "connection ended: " + e);
        } finally {
            open.remove(c);
        }
    }

    /** Reads one request; null on a clean end of stream. */
    private EmuRequest read(InputStream in) throws IOException {
        String requestLine = line(in);
        if (requestLine == null) {
            return null;
        }
        String[] parts = requestLine.split(" ");
        if (parts.length != 3 || !parts[2].startsWith("HTTP/1.")) {
            throw new IOException("bad request line: " + requestLine);
        }
        Map<String, String> headers = new LinkedHashMap<>();
        int size = 0;
        for (String h = line(in); h != null && !h.isEmpty(); h = line(in)) {
            size += h.length();
            if (size > MAX_HEADER) {
                throw new IOException("headers too large");
            }
            int colon = h.indexOf(':');
            if (colon > 0) {
                headers.put(h.substring(0, colon).strip().toLowerCase(Locale.ROOT), h.substring(colon + 1).strip());
            }
        }
        String target = parts[1];
        int q = target.indexOf('?');
        String rawPath = q < 0 ? target : target.substring(0, q);
        String query = q < 0 ? "" : target.substring(q + 1);
        // PVE percent-decodes the whole path before splitting it on '/'
        String path = UrlCodec.decode(rawPath);
        path = path.startsWith(PREFIX + "/") || path.equals(PREFIX) ? path.substring(PREFIX.length()) : "\0" + path;
        String ct = headers.getOrDefault("content-type", "");
        String cl = headers.get("content-length");
        if (spoolDir != null && parts[0].equals("POST") && ct.toLowerCase(Locale.ROOT).startsWith("multipart/form-data")
                && cl != null && headers.get("transfer-encoding") == null && Long.parseLong(cl.strip()) > SPOOL_ABOVE) {
            Map<String, List<String>> params = new LinkedHashMap<>();
            Map<String, EmuRequest.FilePart> files = new LinkedHashMap<>();
            MultipartSpooler.parse(in, Long.parseLong(cl.strip()), RequestParser.boundary(ct), spoolDir, params, files);
            return RequestParser.spooled(parts[0], path, query, headers, params, files);
        }
        byte[] body = body(in, headers);
        return RequestParser.parse(parts[0], path, query, headers, body);
    }

    private static byte[] body(InputStream in, Map<String, String> headers) throws IOException {
        String te = headers.get("transfer-encoding");
        if (te != null && te.toLowerCase(Locale.ROOT).contains("chunked")) {
            ByteArrayOutputStream out = new ByteArrayOutputStream();
            while (true) {
                String sizeLine = line(in);
                if (sizeLine == null) {
                    throw new IOException("truncated chunked body");
                }
                int len = Integer.parseInt(sizeLine.split(";")[0].strip(), 16);
                if (len == 0) {
                    while (true) {
                        String trailer = line(in);
                        if (trailer == null || trailer.isEmpty()) {
                            return out.toByteArray();
                        }
                    }
                }
                if (out.size() + len > MAX_BODY) {
                    throw new IOException("body too large");
                }
                out.write(in.readNBytes(len));
                line(in);
            }
        }
        String cl = headers.get("content-length");
        if (cl == null) {
            return new byte[0];
        }
        long len = Long.parseLong(cl.strip());
        if (len < 0 || len > MAX_BODY) {
            throw new IOException("bad content length " + len);
        }
        byte[] b = in.readNBytes((int) len);
        if (b.length != len) {
            throw new IOException("truncated body");
        }
        return b;
    }

    private static String line(InputStream in) throws IOException {
        ByteArrayOutputStream b = new ByteArrayOutputStream(128);
        int c;
        while ((c = in.read()) != -1) {
            if (c == '\n') {
                byte[] bytes = b.toByteArray();
                int n = bytes.length > 0 && bytes[bytes.length - 1] == '\r' ? bytes.length - 1 : bytes.length;
                return new String(bytes, 0, n, StandardCharsets.ISO_8859_1);
            }
            if (b.size() > MAX_HEADER) {
                throw new IOException("line too long");
            }
            b.write(c);
        }
        return b.size() == 0 ? null : b.toString(StandardCharsets.ISO_8859_1);
    }

    private static void write(OutputStream out, EmuResponse r, boolean keepAlive) throws IOException {
        StringBuilder h = new StringBuilder();
        h.append("HTTP/1.1 ").append(r.status()).append(' ').append(r.reason()).append("\r\n");
        h.append("Server: pve-api-daemon/3.0\r\n");
        h.append("Cache-Control: max-age=0\r\n");
        h.append("Pragma: no-cache\r\n");
        h.append("Connection: ").append(keepAlive ? "Keep-Alive" : "close").append("\r\n");
        if (r.contentType() != null) {
            h.append("Content-Type: ").append(r.contentType()).append("\r\n");
        }
        h.append("Content-Length: ").append(r.body().length).append("\r\n\r\n");
        out.write(h.toString().getBytes(StandardCharsets.UTF_8));
        out.write(r.body());
        out.flush();
    }

    @Override
    public void close() {
        closed = true;
        try {
            server.close();
        } catch (IOException e) {
            LOG.log(Level.DEBUG, () -> "close: " + e);
        }
        for (Socket s : new ArrayList<>(open)) {
            try {
                s.close();
            } catch (IOException e) {
                LOG.log(Level.DEBUG, () -> "close: " + e);
            }
        }
        try {
            acceptor.join(2_000);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }
}
