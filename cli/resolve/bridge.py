"""Proxima's bridge to DaVinci Resolve's scripting API.

One request per stdin line, one response per stdout line, both JSON:
  {"id": 1, "op": "read_timeline", "args": {"name": "Edit"}}
  {"id": 1, "ok": true, "result": {...}}  or  {"id": 1, "ok": false, "error": {"code", "message"}}
Resolve's calls return None or False on failure and never say why, so every check that can
name the cause (no project, no timeline, project changed) is made here before the call.
Arguments NAME=VALUE (PYTHONPATH, RESOLVE_SCRIPT_API, RESOLVE_SCRIPT_LIB) are applied to this
process before DaVinciResolveScript is imported. Python 3.6 or newer, standard library only.
"""

import io
import json
import os
import sys


class BridgeError(Exception):
    def __init__(self, code, message):
        Exception.__init__(self, message)
        self.code = code
        self.message = message


def has_method(obj, name):
    # hasattr() is always true on Resolve's objects; dir() lists what really exists.
    try:
        return name in dir(obj)
    except Exception:
        return False


def same_path(path):
    # Resolve keeps paths as the OS spells them; on Windows case and slashes may differ.
    return os.path.normcase(os.path.normpath(path)) if path else ""


class Bridge(object):
    def __init__(self):
        self.resolve = None
        self.clips = {}

    def connect(self):
        if self.resolve is not None:
            return self.resolve
        if sys.maxsize <= 2 ** 32:
            raise BridgeError("NO_MODULE", "this Python is 32-bit; fusionscript loads only into 64-bit Python")
        try:
            import DaVinciResolveScript as dvr
        # SystemExit too: some versions of the module exit when fusionscript cannot be loaded.
        except (Exception, SystemExit) as err:
            raise BridgeError("NO_MODULE", "%s: %s" % (type(err).__name__, err))
        resolve = dvr.scriptapp("Resolve")
        if resolve is None:
            raise BridgeError("NO_RESOLVE", "DaVinci Resolve did not answer")
        self.resolve = resolve
        return resolve

    def project(self):
        manager = self.connect().GetProjectManager()
        project = manager.GetCurrentProject() if manager else None
        if project is None:
            raise BridgeError("NO_PROJECT", "no project is open in DaVinci Resolve")
        return project

    def checked_project(self, expected):
        project = self.project()
        name = project.GetName()
        if expected and name != expected:
            raise BridgeError(
                "PROJECT_CHANGED",
                "the open project is now %s, not %s" % (json.dumps(name), json.dumps(expected)),
            )
        return project

    def timeline(self, project, name):
        if not name:
            timeline = project.GetCurrentTimeline()
            if timeline is None:
                raise BridgeError("NO_TIMELINE", "no timeline is open in the project")
            return timeline
        names = []
        for i in range(1, (project.GetTimelineCount() or 0) + 1):
            timeline = project.GetTimelineByIndex(i)
            if timeline is None:
                continue
            if timeline.GetName() == name:
                return timeline
            names.append(timeline.GetName())
        raise BridgeError(
            "TIMELINE_NOT_FOUND",
            "no timeline named %s; the project has: %s"
            % (json.dumps(name), ", ".join(json.dumps(n) for n in names) or "none"),
        )

    def clip_view(self, clip):
        media_id = clip.GetMediaId()
        self.clips[media_id] = clip
        props = clip.GetClipProperty() or {}
        return {
            "mediaId": media_id,
            "uniqueId": clip.GetUniqueId() if has_method(clip, "GetUniqueId") else "",
            "name": clip.GetName(),
            "properties": dict((str(k), "" if v is None else str(v)) for k, v in props.items()),
        }

    def all_clips(self, folder):
        for clip in folder.GetClipList() or []:
            yield clip
        for sub in folder.GetSubFolderList() or []:
            for clip in self.all_clips(sub):
                yield clip

    def clip_by_media_id(self, project, media_id):
        clip = self.clips.get(media_id)
        if clip is not None:
            return clip
        for clip in self.all_clips(project.GetMediaPool().GetRootFolder()):
            if clip.GetMediaId() == media_id:
                self.clips[media_id] = clip
                return clip
        raise BridgeError("CLIP_NOT_FOUND", "no media pool clip with media id %s" % media_id)

    # Operations

    def op_hello(self, args):
        resolve = self.connect()
        project = self.project()
        timeline = project.GetCurrentTimeline()
        return {
            "product": resolve.GetProductName() if has_method(resolve, "GetProductName") else "",
            "version": resolve.GetVersionString() or "",
            "project": project.GetName(),
            "timeline": timeline.GetName() if timeline else None,
            "timelineId": timeline.GetUniqueId()
            if timeline and has_method(timeline, "GetUniqueId")
            else None,
        }

    def op_list_timelines(self, args):
        project = self.project()
        result = []
        for i in range(1, (project.GetTimelineCount() or 0) + 1):
            timeline = project.GetTimelineByIndex(i)
            if timeline is None:
                continue
            unique = timeline.GetUniqueId() if has_method(timeline, "GetUniqueId") else None
            result.append({"name": timeline.GetName(), "uniqueId": unique, "index": i})
        return result

    def op_read_timeline(self, args):
        project = self.project()
        timeline = self.timeline(project, args.get("name"))
        tracks = []
        for index in range(1, (timeline.GetTrackCount("video") or 0) + 1):
            items = []
            for item in timeline.GetItemListInTrack("video", index) or []:
                clip = item.GetMediaPoolItem()
                enabled = item.GetClipEnabled() if has_method(item, "GetClipEnabled") else True
                items.append(
                    {
                        "name": item.GetName(),
                        "start": item.GetStart(),
                        "end": item.GetEnd(),
                        "enabled": bool(enabled),
                        "clip": self.clip_view(clip) if clip is not None else None,
                    }
                )
            tracks.append(
                {
                    "index": index,
                    "enabled": bool(timeline.GetIsTrackEnabled("video", index)),
                    "items": items,
                }
            )
        unique = timeline.GetUniqueId() if has_method(timeline, "GetUniqueId") else None
        return {
            "name": timeline.GetName(),
            "uniqueId": unique,
            "project": project.GetName(),
            "videoTracks": tracks,
        }

    def op_find_clips(self, args):
        wanted = set(same_path(p) for p in args.get("paths") or [] if p)
        project = self.project()
        found = []
        for clip in self.all_clips(project.GetMediaPool().GetRootFolder()):
            if same_path(clip.GetClipProperty("File Path") or "") in wanted:
                found.append(self.clip_view(clip))
        return found

    def op_export_fcpxml(self, args):
        # Compound clips' contents are reachable only through an export of the timeline.
        resolve = self.connect()
        project = self.project()
        timeline = self.timeline(project, args.get("name"))
        export_type = getattr(resolve, "EXPORT_FCPXML_1_10", None)
        subtype = getattr(resolve, "EXPORT_NONE", None)
        if export_type is None:
            raise BridgeError("EXPORT_UNSUPPORTED", "this Resolve cannot export FCPXML 1.10")
        return {"exported": bool(timeline.Export(args["path"], export_type, subtype))}

    def op_link(self, args):
        project = self.checked_project(args.get("project"))
        clip = self.clip_by_media_id(project, args["mediaId"])
        return {"linked": bool(clip.LinkProxyMedia(args["path"]))}

    def op_unlink(self, args):
        project = self.checked_project(args.get("project"))
        clip = self.clip_by_media_id(project, args["mediaId"])
        return {"unlinked": bool(clip.UnlinkProxyMedia())}


def setup(argv):
    for arg in argv:
        name, _, value = arg.partition("=")
        if name == "PYTHONPATH":
            # PYTHONPATH is read at interpreter start only; import looks at sys.path from now on.
            # Moved to the front even when inherited, so the configured Modules folder wins.
            for entry in reversed([e for e in value.split(os.pathsep) if e]):
                if entry in sys.path:
                    sys.path.remove(entry)
                sys.path.insert(0, entry)
        elif name:
            os.environ[name] = value
    # The protocol gets its own copy of stdout, UTF-8 with \n endings whatever the console's code
    # page; whatever else writes to stdout (the module, fusionscript's C code) lands on stderr.
    stdin = io.TextIOWrapper(sys.stdin.buffer, encoding="utf-8", errors="replace")
    sys.stdout.flush()
    out = io.open(os.dup(sys.stdout.fileno()), "w", encoding="utf-8", newline="\n")
    os.dup2(sys.stderr.fileno(), sys.stdout.fileno())
    return stdin, out


def main():
    stdin, out = setup(sys.argv[1:])
    bridge = Bridge()
    for line in stdin:
        line = line.strip()
        if not line:
            continue
        request_id = None
        try:
            request = json.loads(line)
            request_id = request.get("id")
            handler = getattr(bridge, "op_" + str(request.get("op")), None)
            if handler is None:
                raise BridgeError("BAD_REQUEST", "unknown op %s" % json.dumps(request.get("op")))
            response = {"id": request_id, "ok": True, "result": handler(request.get("args") or {})}
        except BridgeError as err:
            response = {"id": request_id, "ok": False, "error": {"code": err.code, "message": err.message}}
        except Exception as err:
            response = {
                "id": request_id,
                "ok": False,
                "error": {"code": "BRIDGE_FAILED", "message": "%s: %s" % (type(err).__name__, err)},
            }
        out.write(json.dumps(response) + "\n")
        out.flush()


if __name__ == "__main__":
    main()
