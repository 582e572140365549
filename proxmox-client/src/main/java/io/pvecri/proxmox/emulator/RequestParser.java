package io.pvecri.proxmox.emulator;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/** Builds an {@link EmuRequest} from the raw parts: query string, form/JSON body or multipart upload. */
final class RequestParser {

    private static final ObjectMapper JSON = new ObjectMapper();
    private static final Pattern BOUNDARY = Pattern.compile("boundary=\"?([^\";]+)\"?");
    private static final Pattern DISPOSITION_NAME = Pattern.compile("\\bname=\"([^\"]*)\"");
    private static final Pattern DISPOSITION_FILE = Pattern.compile("\\bfilename=\"([^\"]*)\"");

    private RequestParser() {
    }

    static EmuRequest parse(String method, String path, String query, Map<String, String> headers, byte[] body)
            throws IOException {
        Map<String, List<String>> params = new LinkedHashMap<>();
        Map<String, EmuRequest.FilePart> files = new LinkedHashMap<>();
        String ct = headers.getOrDefault("content-type", "").toLowerCase(Locale.ROOT);
        if (body.length > 0) {
            if (!method.equals("POST") && !method.equals("PUT")) {
                // PVE: 501 "Unexpected content for method 'DELETE'"; marked for the router
                params.put("\0unexpected-content", List.of("1"));
            } else if (ct.startsWith("multipart/form-data")) {
                multipart(headers.get("content-type"), body, params, files);
            } else if (ct.startsWith("application/json")) {
                json(body, params);
            } else {
                params.putAll(UrlCodec.decodeForm(new String(body, StandardCharsets.ISO_8859_1)));
            }
        }
        // query parameters override body parameters
        params.putAll(UrlCodec.decodeForm(query));
        return new EmuRequest(method, path, params, headers, files);
    }

    /** A request whose multipart body was already read ({@link MultipartSpooler}); query parameters still win. */
    static EmuRequest spooled(String method, String path, String query, Map<String, String> headers,
                              Map<String, List<String>> params, Map<String, EmuRequest.FilePart> files) {
        Map<String, List<String>> all = new LinkedHashMap<>(params);
        all.putAll(UrlCodec.decodeForm(query));
        return new EmuRequest(method, path, all, headers, files);
    }

    static String boundary(String contentType) throws IOException {
        Matcher m = BOUNDARY.matcher(contentType);
        if (!m.find()) {
            throw new IOException("multipart without boundary");
        }
        return m.group(1);
    }

    private static void json(byte[] body, Map<String, List<String>> params) throws IOException {
        JsonNode root = JSON.readTree(body);
        if (root == null || !root.isObject()) {
            return;
        }
        root.properties().forEach(e -> {
            JsonNode v = e.getValue();
            String s = v.isBoolean() ? (v.asBoolean() ? "1" : "0") : v.asText();
            params.put(e.getKey(), new ArrayList<>(List.of(s)));
        });
    }

    private static void multipart(String contentType, byte[] body, Map<String, List<String>> params,
                                  Map<String, EmuRequest.FilePart> files) throws IOException {
        Matcher m = BOUNDARY.matcher(contentType);
        if (!m.find()) {
            throw new IOException("multipart without boundary");
        }
        byte[] delimiter = ("--" + m.group(1)).getBytes(StandardCharsets.ISO_8859_1);
        int pos = indexOf(body, delimiter, 0);
        while (pos >= 0) {
            int start = pos + delimiter.length;
            if (start + 1 < body.length && body[start] == '-' && body[start + 1] == '-') {
                return; // closing delimiter
            }
            start = skipCrlf(body, start);
            int next = indexOf(body, delimiter, start);
            if (next < 0) {
                throw new IOException("unterminated multipart body");
            }
            int end = next;
            if (end >= 2 && body[end - 2] == '\r' && body[end - 1] == '\n') {
                end -= 2;
            }
            part(body, start, end, params, files);
            pos = next;
        }
    }

    private static void part(byte[] body, int start, int end, Map<String, List<String>> params,
                             Map<String, EmuRequest.FilePart> files) throws IOException {
        byte[] sep = "\r\n\r\n".getBytes(StandardCharsets.ISO_8859_1);
        int headerEnd = indexOf(body, sep, start);
        if (headerEnd < 0 || headerEnd > end) {
            throw new IOException("multipart part without headers");
        }
        String head = new String(body, start, headerEnd - start, StandardCharsets.UTF_8);
        int dataStart = headerEnd + sep.length;
        byte[] data = java.util.Arrays.copyOfRange(body, dataStart, end);
        Matcher name = DISPOSITION_NAME.matcher(head);
        if (!name.find()) {
            throw new IOException("multipart part without a name");
        }
        Matcher file = DISPOSITION_FILE.matcher(head);
        if (file.find()) {
            // PVE's upload handler passes the part's file name as the parameter of that name
            files.put(name.group(1), new EmuRequest.FilePart(file.group(1), data));
            params.computeIfAbsent(name.group(1), k -> new ArrayList<>()).add(file.group(1));
        } else {
            params.computeIfAbsent(name.group(1), k -> new ArrayList<>()).add(new String(data, StandardCharsets.UTF_8));
        }
    }

    private static int skipCrlf(byte[] b, int i) {
        return i + 1 < b.length && b[i] == '\r' && b[i + 1] == '\n' ? i + 2 : i;
    }

    private static int indexOf(byte[] hay, byte[] needle, int from) {
        outer:
        for (int i = from; i <= hay.length - needle.length; i++) {
            for (int j = 0; j < needle.length; j++) {
                if (hay[i + j] != needle[j]) {
                    continue outer;
                }
            }
            return i;
        }
        return -1;
    }
}
