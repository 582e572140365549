package io.pvecri.proxmox.emulator;

import java.util.List;
import java.util.Map;

/**
 * One parsed HTTP request.
 *
 * @param method  GET, POST, PUT, DELETE
 * @param path    percent-decoded path below {@code /api2/json}, e.g. {@code /nodes/pve1/lxc}
 * @param params  query and body parameters merged (query wins, as in PVE); repeated keys keep every value
 * @param headers lower-cased header names
 * @param files   multipart file parts (upload), by field name
 */
record EmuRequest(String method, String path, Map<String, List<String>> params, Map<String, String> headers,
                  Map<String, FilePart> files) {

    /** A multipart file part: its bytes, or (large uploads to a real node) the file it was spooled to. */
    record FilePart(String fileName, byte[] content, java.nio.file.Path spooled) {
        FilePart(String fileName, byte[] content) {
            this(fileName, content, null);
        }

        long size() throws java.io.IOException {
            return spooled != null ? java.nio.file.Files.size(spooled) : content.length;
        }

        java.io.InputStream open() throws java.io.IOException {
            return spooled != null ? java.nio.file.Files.newInputStream(spooled) : new java.io.ByteArrayInputStream(content);
        }
    }

    String param(String name) {
        List<String> v = params.get(name);
        return v == null || v.isEmpty() ? null : v.getLast();
    }

    String header(String name) {
        return headers.get(name);
    }
}
