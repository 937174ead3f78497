"""Stand-in for Blackmagic's DaVinciResolveScript module, for Proxima's tests.

It follows the documented scripting API (1-based indexes; None or False on failure, never an
exception with a reason; every attribute answers, so only dir() tells what exists) over a JSON
scene named by PROXIMA_RESOLVE_SCENE:

  {"resolve_running": true, "external_scripting": "Local", "version": "19.1.3.7",
   "product": "DaVinci Resolve Studio", "current_project": "Feature",
   "hang_seconds": 0, "hang_calls": {"LinkProxyMedia": 0}, "project_manager_open": false,
   "projects": {"Feature": {"current_timeline": "Edit", "settings": {"timelineFrameRate": "25"},
     "timelines": [{"name": "Edit", "id": "tl-1", "start_timecode": "01:00:00:00",
                    "video_tracks": [{"enabled": true, "items": [
                       {"name": "A001", "clip": "m-1", "start": 86400, "end": 86425}]}],
                    "audio_tracks": []}],
     "clips": {"m-1": {"name": "A001.mov", "unique_id": "u-1", "folder": "Master/Day 1",
                       "refuse_link": false, "proxy_size": "1280x720",
                       "properties": {"File Path": "...", "FPS": 25.0}}}}}}

The scene is read again by every scriptapp() call, so each command sees the one before it.
Link and unlink write the clip's Proxy and Proxy Media Path back to the scene file and append
one JSON line per call to PROXIMA_RESOLVE_CALLS: the record tests assert on.
"""

import json
import os
import struct
import time
from urllib.parse import quote
from xml.sax.saxutils import escape

_SCENE = os.environ.get("PROXIMA_RESOLVE_SCENE", "")
_CALLS = os.environ.get("PROXIMA_RESOLVE_CALLS", "")


def _load():
    with open(_SCENE, "r", encoding="utf-8") as f:
        return json.load(f)


def _save(scene):
    tmp = _SCENE + ".tmp"
    with open(tmp, "w", encoding="utf-8") as f:
        json.dump(scene, f, indent=1)
    os.replace(tmp, _SCENE)


def _update_clip(project, media_id, properties):
    # Into a fresh copy of the file: a test may have changed the scene since scriptapp().
    scene = _load()
    clip = scene.get("projects", {}).get(project, {}).get("clips", {}).get(media_id)
    if clip is not None:
        clip.setdefault("properties", {}).update(properties)
        _save(scene)


def _record(entry):
    if _CALLS:
        with open(_CALLS, "a", encoding="utf-8") as f:
            f.write(json.dumps(entry) + "\n")


def _version(scene):
    parts = []
    for part in str(scene.get("version", "19.1.3.7")).split(".")[:2]:
        try:
            parts.append(int(part))
        except ValueError:
            parts.append(0)
    return tuple(parts + [0] * (2 - len(parts)))


# Top-level QuickTime atoms a .mov may start with.
_MOV_ATOMS = (b"ftyp", b"wide", b"free", b"skip", b"mdat", b"moov", b"pnot")


def _complete_mov(path):
    """A .mov Resolve would take: not empty and, when it is QuickTime, whole (a moov atom, no
    atom running past the end, as in a file still being written). Other content is taken as a
    finished proxy, so tests can stand in for one with a few bytes."""
    if not path.lower().endswith(".mov"):
        return False
    size = os.path.getsize(path)
    if size == 0:
        return False
    with open(path, "rb") as f:
        head = f.read(8)
        if len(head) < 8 or head[4:8] not in _MOV_ATOMS:
            return True
        pos, moov = 0, False
        while pos < size:
            f.seek(pos)
            header = f.read(8)
            if len(header) < 8:
                return False
            length, kind = struct.unpack(">I", header[:4])[0], header[4:8]
            if length == 1:
                large = f.read(8)
                if len(large) < 8:
                    return False
                length = struct.unpack(">Q", large)[0]
            elif length == 0:
                length = size - pos
            if length < 8 or pos + length > size:
                return False
            moov = moov or kind == b"moov"
            pos += length
        return moov


def _absent(*args, **kwargs):
    return None


class _Api(object):
    """Resolve's objects answer any attribute with a callable that returns None, so hasattr() is
    always true; dir() lists what this Resolve version really has."""

    _methods = ()
    # Methods that appeared in a later Resolve: name -> (major, minor).
    _since = {}

    def _available(self, name):
        since = type(self)._since.get(name)
        return since is None or _version(self._scene) >= since

    def __dir__(self):
        return [m for m in self._methods if self._available(m)]

    def __getattribute__(self, name):
        if name[:1] != "_":
            if name in type(self)._since and not object.__getattribute__(self, "_available")(name):
                return _absent
            # A modal dialog in Resolve: the call does not return for a while.
            delay = object.__getattribute__(self, "_scene").get("hang_calls", {}).get(name)
            if delay:
                time.sleep(delay)
        return object.__getattribute__(self, name)

    def __getattr__(self, name):
        if name[:1] == "_":
            raise AttributeError(name)
        return _absent


class MediaPoolItem(_Api):
    _methods = (
        "GetName",
        "GetMediaId",
        "GetUniqueId",
        "GetClipProperty",
        "LinkProxyMedia",
        "UnlinkProxyMedia",
    )

    def __init__(self, scene, project, media_id):
        self._scene = scene
        self._project = project
        self._id = media_id

    def _data(self):
        return self._scene["projects"][self._project]["clips"][self._id]

    def GetName(self):
        return self._data().get("name", "")

    def GetMediaId(self):
        return self._id

    def GetUniqueId(self):
        return self._data().get("unique_id", self._id)

    def GetClipProperty(self, propertyName=None):
        props = dict(self._data().get("properties", {}))
        if "FPS" in props:
            # Resolve gives the frame rate as a float, every other value as a string.
            props["FPS"] = float(props["FPS"])
        if propertyName is None:
            return props
        value = props.get(propertyName)
        return "" if value is None else str(value)

    def LinkProxyMedia(self, proxyMediaFilePath):
        path = proxyMediaFilePath
        data = self._data()
        ok = (
            isinstance(path, str)
            and os.path.isabs(path)
            and os.path.isfile(path)
            and _complete_mov(path)
            and not data.get("refuse_link", False)
            and not self._scene.get("project_manager_open", False)
        )
        _record({"op": "LinkProxyMedia", "mediaId": self._id, "path": path, "project": self._project, "result": ok})
        if not ok:
            return False
        linked = {"Proxy": data.get("proxy_size", "1280x720"), "Proxy Media Path": path}
        data.setdefault("properties", {}).update(linked)
        _update_clip(self._project, self._id, linked)
        return True

    def UnlinkProxyMedia(self):
        data = self._data()
        props = data.setdefault("properties", {})
        linked = props.get("Proxy Media Path", "") != ""
        _record({"op": "UnlinkProxyMedia", "mediaId": self._id, "project": self._project, "result": linked})
        if not linked:
            return False
        unlinked = {"Proxy": "None", "Proxy Media Path": ""}
        props.update(unlinked)
        _update_clip(self._project, self._id, unlinked)
        return True


class TimelineItem(_Api):
    _methods = (
        "GetName",
        "GetMediaPoolItem",
        "GetStart",
        "GetEnd",
        "GetDuration",
        "GetLeftOffset",
        "GetRightOffset",
        "GetSourceStartFrame",
        "GetSourceEndFrame",
        "GetClipEnabled",
        "GetUniqueId",
    )
    _since = {"GetClipEnabled": (18, 5), "GetSourceStartFrame": (19, 0), "GetSourceEndFrame": (19, 0)}

    def __init__(self, scene, project, data, key):
        self._scene = scene
        self._project = project
        self._data = data
        self._key = key

    def GetName(self):
        return self._data.get("name", "")

    def GetMediaPoolItem(self):
        media_id = self._data.get("clip")
        if media_id is None or media_id not in self._scene["projects"][self._project].get("clips", {}):
            return None
        return MediaPoolItem(self._scene, self._project, media_id)

    def GetStart(self):
        return self._data.get("start", 0)

    def GetEnd(self):
        return self._data.get("end", 0)

    def GetDuration(self):
        return self.GetEnd() - self.GetStart()

    def GetLeftOffset(self):
        return self._data.get("left_offset", 0)

    def GetRightOffset(self):
        return self._data.get("right_offset", 0)

    def GetSourceStartFrame(self):
        return self._data.get("source_start", self.GetLeftOffset())

    def GetSourceEndFrame(self):
        return self._data.get("source_end", self.GetSourceStartFrame() + self.GetDuration() - 1)

    def GetClipEnabled(self):
        return self._data.get("enabled", True)

    def GetUniqueId(self):
        return self._key


class Timeline(_Api):
    _methods = (
        "GetName",
        "GetUniqueId",
        "GetTrackCount",
        "GetItemListInTrack",
        "GetIsTrackEnabled",
        "GetStartFrame",
        "GetEndFrame",
        "GetStartTimecode",
        "GetSetting",
        "Export",
    )
    _since = {"GetUniqueId": (18, 1)}

    def __init__(self, scene, project, data):
        self._scene = scene
        self._project = project
        self._data = data

    def _tracks(self, track_type):
        return self._data.get(track_type + "_tracks", [])

    def GetName(self):
        return self._data["name"]

    def GetUniqueId(self):
        return self._data.get("id", "")

    def GetTrackCount(self, trackType):
        if trackType not in ("video", "audio", "subtitle"):
            return 0
        return len(self._tracks(trackType))

    def GetItemListInTrack(self, trackType, index):
        tracks = self._tracks(trackType)
        if not isinstance(index, int) or index < 1 or index > len(tracks):
            return None
        items = tracks[index - 1].get("items", [])
        return [
            TimelineItem(self._scene, self._project, item, "%s-%s%d-%d" % (self._data.get("id", ""), trackType, index, i))
            for i, item in enumerate(items)
        ]

    def GetIsTrackEnabled(self, trackType, trackIndex):
        tracks = self._tracks(trackType)
        if not isinstance(trackIndex, int) or trackIndex < 1 or trackIndex > len(tracks):
            return False
        return tracks[trackIndex - 1].get("enabled", True)

    def GetStartTimecode(self):
        return self._data.get("start_timecode", "01:00:00:00")

    def GetSetting(self, settingName=None):
        settings = self._data.get("settings", {})
        if settingName is None:
            return dict(settings)
        return str(settings.get(settingName, ""))

    def Export(self, fileName, exportType, exportSubtype=None):
        # Only what Proxima asks for: FCPXML 1.10, with compound clips as ref-clips to media.
        if exportType != Resolve.EXPORT_FCPXML_1_10 or not fileName:
            return False
        clips = self._scene["projects"][self._project]["clips"]

        def url(path):
            return "file://" + "/".join(quote(part) for part in path.split("/"))

        assets, media, spine = [], [], []
        seen = set()

        def asset(media_id):
            if media_id not in seen:
                seen.add(media_id)
                path = clips[media_id].get("properties", {}).get("File Path", "")
                assets.append(
                    '    <asset id="a-%s" name="%s" start="0s" duration="1s" hasVideo="1" format="r1">\n'
                    '      <media-rep kind="original-media" src="%s"/>\n    </asset>'
                    % (media_id, escape(clips[media_id].get("name", "")), escape(url(path)))
                )
            return "a-" + media_id

        for track in self._tracks("video"):
            for item in track.get("items", []):
                media_id = item.get("clip")
                if media_id is None or media_id not in clips:
                    continue
                clip = clips[media_id]
                kind = clip.get("properties", {}).get("Type", "")
                if kind == "Compound":
                    inner = "".join(
                        '<asset-clip ref="%s" offset="0s" duration="1s"/>' % asset(i)
                        for i in clip.get("inner", [])
                    )
                    media.append(
                        '    <media id="c-%s" name="%s"><sequence format="r1"><spine>%s</spine></sequence></media>'
                        % (media_id, escape(clip.get("name", "")), inner)
                    )
                    spine.append('<ref-clip ref="c-%s" offset="0s" duration="1s"/>' % media_id)
                elif clip.get("properties", {}).get("File Path"):
                    spine.append('<asset-clip ref="%s" offset="0s" duration="1s"/>' % asset(media_id))
        text = (
            '<?xml version="1.0" encoding="UTF-8"?>\n<!DOCTYPE fcpxml>\n<fcpxml version="1.10">\n'
            '  <resources>\n    <format id="r1" frameDuration="1/25s" width="1920" height="1080"/>\n'
            + "\n".join(assets + media)
            + '\n  </resources>\n  <library><event name="Export"><project name="%s">'
            '<sequence format="r1"><spine>%s</spine></sequence></project></event></library>\n</fcpxml>\n'
            % (escape(self.GetName()), "".join(spine))
        )
        with open(fileName, "w", encoding="utf-8") as f:
            f.write(text)
        return True

    def GetStartFrame(self):
        return self._data.get("start_frame", 86400)

    def GetEndFrame(self):
        ends = [item.get("end", 0) for track in self._tracks("video") for item in track.get("items", [])]
        return self._data.get("end_frame", max(ends + [self.GetStartFrame()]))


class Folder(_Api):
    _methods = ("GetName", "GetClipList", "GetSubFolderList")

    def __init__(self, scene, project, path):
        self._scene = scene
        self._project = project
        self._path = path

    def GetName(self):
        return self._path.split("/")[-1]

    def _clips(self):
        return self._scene["projects"][self._project].get("clips", {})

    def GetClipList(self):
        return [
            MediaPoolItem(self._scene, self._project, media_id)
            for media_id, clip in sorted(self._clips().items())
            if clip.get("folder", "Master") == self._path
        ]

    def GetSubFolderList(self):
        prefix = self._path + "/"
        children = set()
        for clip in self._clips().values():
            folder = clip.get("folder", "Master")
            if folder.startswith(prefix):
                children.add(prefix + folder[len(prefix):].split("/")[0])
        return [Folder(self._scene, self._project, p) for p in sorted(children)]


class MediaPool(_Api):
    _methods = ("GetRootFolder",)

    def __init__(self, scene, project):
        self._scene = scene
        self._project = project

    def GetRootFolder(self):
        return Folder(self._scene, self._project, "Master")


class Project(_Api):
    _methods = (
        "GetName",
        "GetCurrentTimeline",
        "GetTimelineCount",
        "GetTimelineByIndex",
        "GetMediaPool",
        "GetSetting",
    )

    def __init__(self, scene, name):
        self._scene = scene
        self._name = name

    def _data(self):
        return self._scene["projects"][self._name]

    def GetName(self):
        return self._name

    def GetCurrentTimeline(self):
        current = self._data().get("current_timeline")
        for timeline in self._data().get("timelines", []):
            if timeline["name"] == current:
                return Timeline(self._scene, self._name, timeline)
        return None

    def GetTimelineCount(self):
        return len(self._data().get("timelines", []))

    def GetTimelineByIndex(self, idx):
        timelines = self._data().get("timelines", [])
        if not isinstance(idx, int) or idx < 1 or idx > len(timelines):
            return None
        return Timeline(self._scene, self._name, timelines[idx - 1])

    def GetMediaPool(self):
        return MediaPool(self._scene, self._name)

    def GetSetting(self, settingName=None):
        settings = self._data().get("settings", {})
        if settingName is None:
            return dict(settings)
        return str(settings.get(settingName, ""))


class ProjectManager(_Api):
    _methods = ("GetCurrentProject",)

    def __init__(self, scene):
        self._scene = scene

    def GetCurrentProject(self):
        # Read again, so a test can switch projects between two calls of one session.
        current = _load().get("current_project")
        if current is None or current not in self._scene.get("projects", {}):
            return None
        return Project(self._scene, current)


class Resolve(_Api):
    _methods = (
        "GetProjectManager",
        "GetVersionString",
        "GetVersion",
        "GetProductName",
        "EXPORT_FCPXML_1_10",
        "EXPORT_NONE",
    )
    # Export type constants are attributes of the Resolve object.
    EXPORT_FCPXML_1_10 = 9
    EXPORT_NONE = 0

    def __init__(self, scene):
        self._scene = scene

    def GetProjectManager(self):
        return ProjectManager(self._scene)

    def GetVersionString(self):
        return self._scene.get("version", "19.1.3.7")

    def GetVersion(self):
        parts = [int(p) if p.isdigit() else p for p in self.GetVersionString().split(".")]
        return parts + [""]

    def GetProductName(self):
        return self._scene.get("product", "DaVinci Resolve Studio")


def scriptapp(name):
    scene = _load()
    if scene.get("hang_seconds"):
        time.sleep(scene["hang_seconds"])
    if name != "Resolve" or not scene.get("resolve_running", True):
        return None
    if scene.get("external_scripting", "Local") not in ("Local", "Network"):
        return None
    return Resolve(scene)
