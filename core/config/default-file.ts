/** The commented file written on first run; every value is the schema's default. */
export const DEFAULT_CONFIG_FILE = `# Proxima configuration.
# Every key can be overridden by an environment variable PROXIMA_<SECTION>__<KEY>,
# e.g. PROXIMA_PATHS__PROXY_ROOT=/mnt/proxies or PROXIMA_WORKER__CONCURRENCY=2.
# Check this file with: proxima config validate

app:
  # At most once a day, queue, up and status say when a newer Proxima is published
  # (asks the npm registry; silent when offline).
  check_for_updates: true

paths:
  # Where proxies are written with layout mirror. The source folder is mirrored below it:
  # /media/day1/A001.mp4 -> <proxy_root>/media/day1/A001.mov
  proxy_root: "~/Proxima Proxies"
  # mirror: below proxy_root as above; beside: a Proxy folder next to each source
  # (/media/day1/Proxy/A001.mov), as Resolve and Blackmagic Proxy Generator write them.
  layout: mirror
  # Folders sources must be below (e.g. ["/Volumes/Footage", "/mnt/nas"]); a source elsewhere
  # is refused. Empty: any folder.
  media_roots: []
  # Two-way path mapping when the farm sees the storage under other paths than the editor's
  # machine, longest editor prefix first, e.g.
  #   - { editor: 'R:\\Footage', farm: /mnt/media }
  #   - { editor: /Volumes/Footage, farm: /mnt/media }
  #   - { editor: 'P:\\Proxies', farm: /mnt/proxies }
  # Environment: PROXIMA_PATHS__MAPPINGS='[{"editor":"R:\\\\Footage","farm":"/mnt/media"}]'
  mappings: []
  # Modification times within this many seconds count as the same (SMB and FAT round them).
  mtime_tolerance_seconds: 2

broker:
  # redis:// URL of the shared broker. Empty: "proxima up" starts a private redis-server.
  url: ""
  # Queue name. Separate farms on one Redis use separate names.
  queue: proxima
  # Seconds a queued job may wait before it is dropped instead of encoded.
  job_expires: 86400
  # Seconds finished jobs and batch records are kept (for "proxima status" and "proxima link").
  result_expires: 604800

gateway:
  # Where the CLI reaches the gateway.
  url: http://127.0.0.1:8765
  # Where the gateway listens (host:port).
  listen: 127.0.0.1:8765
  # Shared secret. When set, every API call needs "Authorization: Bearer <token>".
  token: ""
  # Host names the gateway answers to besides its listen address and loopback names, e.g.
  # ["proxima.studio.lan"]. Requests naming another Host or Origin are refused.
  allowed_hosts: []
  # Seconds the CLI keeps reconnecting to a gateway that went away while it waits.
  reconnect_seconds: 300

worker:
  # Jobs encoded at once by one "proxima work" process. 0: half the CPU cores, at least 1.
  concurrency: 0
  # CPU niceness (0-19) of workers and their ffmpeg, so the editing app stays responsive.
  nice: 10
  # Attempts for a job that fails for a transient reason (a corrupt source is never retried).
  attempts: 3
  # Seconds without a heartbeat before the job of a dead worker is handed to another worker.
  lock_seconds: 30
  # Seconds a starting worker tries to reach the broker before it stops with an error (a
  # broker lost later is waited for: work pauses, nothing fails).
  broker_wait_seconds: 30
  # A job whose source a worker cannot see is handed to another worker; it fails once this many
  # different workers (or every live one) could not see it.
  distinct_attempts: 3
  # Seconds a worker told to stop waits for its jobs and the broker before it exits anyway.
  stop_seconds: 30
  # Seconds without progress from ffmpeg before it is killed and its job retried (at least 5).
  stall_seconds: 120
  # Seconds one ffprobe may take before it is killed (at least 5).
  probe_seconds: 60

encoding:
  # prores-proxy (ProRes 422 Proxy), prores-lt (ProRes 422 LT), dnxhr-lb (DNxHR LB),
  # dnxhr-sq (DNxHR SQ) or h264-intra (all-intra H.264, for machines without a fast ProRes
  # decoder), or a name defined under presets: below. The proxy is a .mov.
  preset: prores-proxy
  # Proxy size as Resolve offers it: 720 (lines high), 540, 1080, half, quarter (of the
  # source's size) or source. Never larger than the source.
  size: 720
  # Ordered: the first rule whose match fits a source (as its worker probes it) picks the
  # preset; none: preset above. A --preset given to queue overrides the rules. Match fields:
  # codec, width/height/fps {min, max}, bit_depth, chroma (420, 422, 444), extension, path (a glob).
  rules: []
  #  - preset: dnxhr-lb
  #    match: { codec: hevc, height: { min: 2160 } }
  #  - preset: prores-lt
  #    match: { bit_depth: { min: 10 }, chroma: ["422", "444"] }

# Your own presets: a built-in base with overrides (profile, size, pix_fmt, audio, options).
# Resolve links a proxy only when its audio tracks match the clip's: keep audio.streams at all
# unless every clip the preset is for has just those tracks.
presets: {}
#  prores-hq-half:
#    base: prores-proxy
#    profile: hq
#    size: half
#    options: { "-qscale:v": 9 }

chunking:
  # Long clips are split into chunks that every worker shares, then joined without re-encoding.
  enabled: true
  # Clips longer than this many seconds are chunked; shorter ones stay one job.
  min_seconds: 120
  # About this many seconds of frames per chunk.
  chunk_seconds: 30

filters:
  # Extensions queued when a folder is given (case-insensitive).
  extensions: [mov, mp4, m4v, mxf, mts, m2ts, mkv, avi, mpg, mpeg, ts]
  # Path globs for clips taken from a timeline: ** spans folders, * stays within one name.
  # A clip must match one of include (when any is given) and none of exclude.
  include: []
  exclude: []   # e.g. ["**/VFX/**", "*_graphics.mov"]

ffmpeg:
  # Path to ffmpeg. Empty: ffmpeg-static, then @ffmpeg-installer/ffmpeg, then ffmpeg on PATH.
  path: ""

ffprobe:
  # Path to ffprobe. Empty: @ffprobe-installer/ffprobe, then ffprobe on PATH.
  path: ""

resolve:
  # Python 3 (64-bit) for the DaVinci Resolve bridge. Empty: python3, then python, on PATH.
  python: ""
  # Resolve's scripting folder (holds Modules/DaVinciResolveScript.py). Empty: RESOLVE_SCRIPT_API,
  # then the default install path of this OS.
  script_api: ""
  # Resolve's fusionscript library. Empty: RESOLVE_SCRIPT_LIB, then the default install path.
  script_lib: ""
  # Seconds one call to Resolve may take (it blocks while a dialog is open).
  timeout_seconds: 30

encoder:
  # An encoder container exits after this many seconds without work (0: never), so an
  # autoscaler or a serverless platform can let it go.
  idle_exit_seconds: 60
  # Name it registers under (the container's or pod's name). Empty: the host name.
  instance: ""

autoscale:
  # How the gateway starts and stops encoder containers: none, docker or kubernetes.
  backend: none
  # Encoders kept with no work, and at most.
  min: 0
  max: 4
  # Jobs waiting or running per encoder before another is started.
  jobs_per_encoder: 1
  # Encoders added at most per decision.
  scale_up_step: 4
  # Seconds after a change before the count goes down again.
  cooldown_seconds: 60
  # With no work at all, go down to min (false: keep at least one encoder).
  scale_to_zero: true
  # Seconds between decisions when no queue event comes.
  interval_seconds: 10

docker:
  # Docker engine: a socket path or tcp://host:port. Empty: /var/run/docker.sock.
  socket: ""
  # Image the encoders run (built from Dockerfile.encoder).
  image: proxima-encoder:latest
  # host, or the name of a network (a compose project's: <project>_default).
  network: host
  # Bind mounts SOURCE:TARGET[:ro]. Media and proxies must appear at the same paths as on the
  # machines that queue them, e.g. ["/mnt/nas:/mnt/nas"].
  mounts: []
  # CPUs (e.g. 2 or 1.5) and memory (MiB) per encoder; 0: no limit.
  cpus: 0
  memory_mb: 0
  # broker.url as the encoders reach it. Empty: the gateway's broker.url.
  broker_url: ""

kubernetes:
  # Namespace and name of the encoder Deployment whose replicas the gateway sets.
  namespace: proxima
  deployment: proxima-encoder
  # kubeconfig file. Empty: KUBECONFIG, then ~/.kube/config, then the in-cluster service account.
  kubeconfig: ""

log:
  # fatal, error, warn, info, debug, trace or silent.
  level: info
`;
