{
  "targets": [
    {
      "target_name": "pktio",
      "sources": ["src/io/native/pktio.c"],
      "defines": ["NAPI_VERSION=8", "_GNU_SOURCE"],
      "cflags_c": ["-std=gnu11", "-Wall", "-Wextra", "-Wno-unused-parameter"]
    }
  ]
}
