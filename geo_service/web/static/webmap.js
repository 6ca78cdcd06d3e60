/*
 * compound-gis web map: fills the folium-made Leaflet groups with the catalog layers.
 *
 * Served at /map, each visible layer is loaded for the current view from /map/data/{layer}
 * (bbox snapped to the tile grid of the zoom, so small pans ask nothing new); the server answers
 * with features, or grid clusters when a view holds too many. An exported file carries its
 * features in the config instead and needs no server. Popups read a feature's attributes from the
 * OGC API item on click (exports: from the embedded properties).
 *
 * Every string that comes from data reaches the DOM as text (textContent), never as HTML.
 */
(function () {
  "use strict";

  // ------------------------------------------------------------ GCJ-02 (AMap-style basemaps)
  // The published WGS84 -> GCJ-02 offset (geo_service/crs.py has the same, tested, in Python):
  // data are stored in WGS84 and shifted here when a GCJ-02 basemap is shown.
  var KRASOVSKY_A = 6378245.0;
  var KRASOVSKY_EE = 0.00669342162296594323;

  function inChina(lon, lat) {
    return lon >= 72.004 && lon <= 137.8347 && lat >= 0.8293 && lat <= 55.8271;
  }

  function gcjOffset(lon, lat) {
    var x = lon - 105.0, y = lat - 35.0, pi = Math.PI, s = Math.sin;
    var common = 0.1 * x * y + (20.0 * s(6.0 * pi * x) + 20.0 * s(2.0 * pi * x)) * 2.0 / 3.0;
    var sx = Math.sqrt(Math.abs(x));
    var mLat = -100.0 + 2.0 * x + 3.0 * y + 0.2 * y * y + 0.2 * sx + common +
      (20.0 * s(pi * y) + 40.0 * s(pi * y / 3.0)) * 2.0 / 3.0 +
      (160.0 * s(pi * y / 12.0) + 320.0 * s(pi * y / 30.0)) * 2.0 / 3.0;
    var mLon = 300.0 + x + 2.0 * y + 0.1 * x * x + 0.1 * sx + common +
      (20.0 * s(pi * x) + 40.0 * s(pi * x / 3.0)) * 2.0 / 3.0 +
      (150.0 * s(pi * x / 12.0) + 300.0 * s(pi * x / 30.0)) * 2.0 / 3.0;
    var radLat = lat * pi / 180.0;
    var w = 1.0 - KRASOVSKY_EE * s(radLat) * s(radLat);
    var sw = Math.sqrt(w);
    var meridian = KRASOVSKY_A * (1.0 - KRASOVSKY_EE) / (w * sw);
    var parallel = KRASOVSKY_A / sw * Math.cos(radLat);
    return [mLon / parallel * 180.0 / pi, mLat / meridian * 180.0 / pi];
  }

  function toGcj(lon, lat) {
    if (!inChina(lon, lat)) { return [lon, lat]; }
    var d = gcjOffset(lon, lat);
    return [lon + d[0], lat + d[1]];
  }

  // ------------------------------------------------------------ small helpers

  function el(tag, className, text) {
    var e = document.createElement(tag);
    if (className) { e.className = className; }
    if (text !== undefined && text !== null) { e.textContent = String(text); }
    return e;
  }

  function link(href, text) {
    var a = el("a", null, text);
    a.href = href;
    a.target = "_blank";
    a.rel = "noopener";
    return a;
  }

  function debounce(fn, ms) {
    var timer = null;
    return function () {
      clearTimeout(timer);
      timer = setTimeout(fn, ms);
    };
  }

  function tileY(lat, n) {
    lat = Math.max(-85.05112878, Math.min(85.05112878, lat));
    var r = lat * Math.PI / 180;
    return (1 - Math.log(Math.tan(r) + 1 / Math.cos(r)) / Math.PI) / 2 * n;
  }

  function latOfTileY(y, n) {
    return Math.atan(Math.sinh(Math.PI * (1 - 2 * y / n))) * 180 / Math.PI;
  }

  /* The lon/lat box grown to whole tiles of zoom z: views within the same tiles ask the same URL. */
  function snapToTiles(b, z) {
    var n = Math.pow(2, z);
    var x0 = Math.max(0, Math.floor((b[0] + 180) / 360 * n)), x1 = Math.min(n, Math.ceil((b[2] + 180) / 360 * n));
    var y0 = Math.max(0, Math.floor(tileY(b[3], n))), y1 = Math.min(n, Math.ceil(tileY(b[1], n)));
    var r = function (v) { return Math.round(v * 1e6) / 1e6; };
    return [r(x0 / n * 360 - 180), r(latOfTileY(y1, n)), r(x1 / n * 360 - 180), r(latOfTileY(y0, n))];
  }

  var UNITS_ZH = { households: "户", spaces: "个", ports: "个", min: "分钟" };

  // ------------------------------------------------------------ square markers (style.marker: square)

  var SquareMarker = L.CircleMarker.extend({
    _updatePath: function () {
      var r = this._renderer, p = this._point, s = Math.max(Math.round(this._radius), 1);
      if (r instanceof L.Canvas) {
        if (!r._drawing || this._empty()) { return; }
        var ctx = r._ctx;
        ctx.beginPath();
        ctx.rect(p.x - s, p.y - s, 2 * s, 2 * s);
        r._fillStroke(ctx, this);
      } else {
        r._setPath(this, this._empty() ? "M0 0" :
          "M" + (p.x - s) + "," + (p.y - s) + "h" + 2 * s + "v" + 2 * s + "h" + (-2 * s) + "z");
      }
    }
  });

  // ------------------------------------------------------------ the map

  function App(map, cfg, refs) {
    var self = this;
    this.map = map;
    this.cfg = cfg;
    this.t = cfg.texts;
    this.pending = 0;
    this.errors = 0;
    this.cache = {};
    this.cacheOrder = [];
    this.focusId = cfg.focus ? cfg.focus.id : null;
    // Our (many) shapes go on two canvases, areas in a pane under points, so compounds are always drawn
    // first whatever loads first; plugins keep the map's SVG default (leaflet-measure styles SVG paths).
    map.createPane("cgis-areas").style.zIndex = 390;
    map.createPane("cgis-points").style.zIndex = 420;
    this.canvas = L.canvas({ padding: 0.3, pane: "cgis-areas" });
    this.pointCanvas = L.canvas({ padding: 0.3, pane: "cgis-points" });
    this.shift = false;
    this.basemaps = refs.basemaps;
    this.layers = {};
    this.order = [];
    cfg.layers.forEach(function (lc) {
      var colors = {};
      lc.legend.classes.forEach(function (c) { colors[c.key] = c.color; });
      self.layers[lc.id] = { cfg: lc, group: refs.groups[lc.id], colors: colors, url: null, data: null, byId: {} };
      self.order.push(lc.id);
    });
    this.overlays = {};
    cfg.overlays.forEach(function (oc) {
      self.overlays[oc.name] = { cfg: oc, group: refs.overlays[oc.name], url: null, data: null };
    });
    this.basemaps.forEach(function (b) { if (b[1] && map.hasLayer(b[0])) { self.shift = true; } });

    L.control.scale({ imperial: false, position: "bottomleft" }).addTo(map);
    this.legend = this.legendControl().addTo(map);
    this.searchControl().addTo(map);
    this.filters = {};  // layer id -> CQL2 text the layer's views are filtered by
    if (cfg.api && !cfg.data) { this.filterControl().addTo(map); }
    this.panel = this.panelControl().addTo(map);
    this.fit();

    var refresh = debounce(function () { self.refresh(); }, 120);
    map.on("moveend", refresh);
    map.on("zoomend", function () { self.declutter(); });
    map.on("resize", function () { self.fitLegend(); });
    map.on("overlayadd overlayremove", function () { self.refresh(); self.updateLegend(); });
    map.on("baselayerchange", function (e) {
      var shift = self.basemaps.some(function (b) { return b[1] && b[0] === e.layer; });
      if (shift !== self.shift) {
        self.shift = shift;
        self.redraw();
      }
    });
    this.refresh();
    this.updateLegend();
  }

  /* Open on the data: the whole extent, or (compound page) the compound clear of the details panel. */
  App.prototype.fit = function () {
    var b = this.cfg.bounds;
    if (!b) { return; }
    var box = L.latLngBounds(this.toLatLng(b[0], b[1]), this.toLatLng(b[2], b[3]));
    var side = this.focusId !== null && this.focusId !== undefined ? this.panelWidth() + 20 : 10;
    this.map.fitBounds(box, { animate: false, paddingTopLeft: [side, 40], paddingBottomRight: [side, 10] });
  };

  App.prototype.panelWidth = function () {
    var size = this.map.getSize();
    return Math.min(320, Math.round(size.x * 0.34));
  };

  /* The legend fits between the layer switcher and the map's bottom edge, scrolling inside when longer. */
  App.prototype.fitLegend = function () {
    var box = this.legendBox, layers = this.map.getContainer().querySelector(".leaflet-control-layers");
    if (!box) { return; }
    var mapRect = this.map.getContainer().getBoundingClientRect();
    var top = layers ? layers.getBoundingClientRect().bottom - mapRect.top : 0;
    box.style.maxHeight = Math.max(80, Math.floor(mapRect.height - top - 40)) + "px";
  };

  App.prototype.toLatLng = function (lon, lat) {
    var p = this.shift ? toGcj(lon, lat) : [lon, lat];
    return L.latLng(p[1], p[0]);
  };

  /* The view as a WGS84 lon/lat box (undoing the GCJ-02 shift when the basemap has it). */
  App.prototype.viewBox = function () {
    var b = this.map.getBounds();
    var box = [b.getWest(), b.getSouth(), b.getEast(), b.getNorth()];
    if (this.shift) {
      var d = gcjOffset((box[0] + box[2]) / 2, (box[1] + box[3]) / 2);
      var pad = 0.002;
      box = [box[0] - d[0] - pad, box[1] - d[1] - pad, box[2] - d[0] + pad, box[3] - d[1] + pad];
    }
    return [Math.max(-180, box[0]), Math.max(-85, box[1]), Math.min(180, box[2]), Math.min(85, box[3])];
  };

  /* The whole zoom the data are asked for: at 13.5 the page asks for 13, so clusters err on the dense side. */
  App.prototype.zoom = function () { return Math.max(0, Math.floor(this.map.getZoom() + 1e-9)); };

  // ------------------------------------------------------------ loading

  App.prototype.refresh = function () {
    var self = this, z = this.zoom();
    var box = snapToTiles(this.viewBox(), z).join(",");
    this.order.forEach(function (id) {
      var lay = self.layers[id];
      if (!self.map.hasLayer(lay.group)) { return; }
      if (self.cfg.data) {
        if (!lay.data && self.cfg.data[id]) { lay.data = self.cfg.data[id]; self.draw(lay); }
        return;
      }
      var url = self.cfg.api + "/map/data/" + encodeURIComponent(id) + "?bbox=" + box + "&zoom=" + z;
      if (id === "compounds" && self.cfg.colorBy) { url += "&color_by=" + encodeURIComponent(self.cfg.colorBy); }
      if (self.filters[id]) { url += "&filter=" + encodeURIComponent(self.filters[id]); }
      self.load(lay, url, function () { self.draw(lay); });
    });
    Object.keys(this.overlays).forEach(function (name) {
      var ov = self.overlays[name];
      if (!self.map.hasLayer(ov.group)) { return; }
      if (self.cfg.overlayData) {
        var d = self.cfg.overlayData[name];
        if (d && ov.data !== d) { ov.data = d; self.drawOverlay(ov); self.updateLegend(); }
        return;
      }
      var url = self.cfg.api + "/map/overlays/" + encodeURIComponent(name) + "?bbox=" + box + "&zoom=" + z;
      self.load(ov, url, function () { self.drawOverlay(ov); self.updateLegend(); });
    });
  };

  App.prototype.load = function (target, url, done) {
    var self = this;
    if (url === target.url) { return; }
    target.url = url;
    if (target.abort) { target.abort.abort(); }
    if (this.cache[url]) {
      target.data = this.cache[url];
      done();
      return;
    }
    var ctrl = typeof AbortController === "function" ? new AbortController() : null;
    target.abort = ctrl;
    this.busy(1);
    fetch(url, { headers: { Accept: "application/json" }, signal: ctrl ? ctrl.signal : undefined })
      .then(function (r) {
        if (!r.ok) { throw new Error("HTTP " + r.status); }
        return r.json();
      })
      .then(function (data) {
        self.remember(url, data);
        if (target.url === url) {
          target.data = data;
          done();
        }
      })
      .catch(function (err) {
        if (err && err.name === "AbortError") { return; }
        self.errors += 1;
        target.url = null;
        self.status(self.t.error);
      })
      .then(function () { self.busy(-1); });
  };

  App.prototype.remember = function (url, data) {
    this.cache[url] = data;
    this.cacheOrder.push(url);
    while (this.cacheOrder.length > 80) { delete this.cache[this.cacheOrder.shift()]; }
  };

  App.prototype.busy = function (delta) {
    this.pending += delta;
    this.status(this.pending > 0 ? this.t.loading : "");
    if (this.pending === 0 && delta < 0 && this.firstRenderMs === undefined) {
      this.firstRenderMs = performance.now();  // since navigation start: the first view is loaded and drawn
    }
  };

  App.prototype.status = function (text) {
    if (this.statusEl) { this.statusEl.textContent = text || ""; }
  };

  /* A promise that resolves once no request is in flight (for tests and benchmarks). */
  App.prototype.idle = function () {
    var self = this;
    return new Promise(function (resolve) {
      (function check() {
        if (self.pending === 0) { setTimeout(function () { if (self.pending === 0) { resolve(true); } else { check(); } }, 150); }
        else { setTimeout(check, 50); }
      })();
    });
  };

  App.prototype.redraw = function () {
    var self = this;
    this.order.forEach(function (id) { if (self.layers[id].data) { self.draw(self.layers[id]); } });
    Object.keys(this.overlays).forEach(function (n) { if (self.overlays[n].data) { self.drawOverlay(self.overlays[n]); } });
    this.refresh();
  };

  // ------------------------------------------------------------ drawing

  App.prototype.draw = function (lay) {
    var self = this, data = lay.data, group = lay.group;
    group.clearLayers();
    lay.byId = {};
    lay.mode = data.mode;
    if (data.mode === "clusters") {
      data.clusters.forEach(function (c) { group.addLayer(self.clusterMarker(lay, c)); });
      data.singles.forEach(function (s) {
        var m = self.pointMarker(lay, self.toLatLng(s[1], s[2]), s[3]);
        self.bind(lay, s[0], null, m);
        group.addLayer(m);
      });
    } else {
      var gj = L.geoJSON(data.features, {
        renderer: lay.cfg.kind === "point" ? this.pointCanvas : this.canvas,
        coordsToLatLng: function (c) { return self.toLatLng(c[0], c[1]); },
        pointToLayer: function (f, ll) { return self.pointMarker(lay, ll, f.properties._c); },
        style: function (f) {  // GeoJSON styles every path, circle markers too: only areas and lines here
          return f.geometry && f.geometry.type.indexOf("Point") < 0 ? self.areaStyle(lay, f.properties._c) : {};
        },
        onEachFeature: function (f, l) { self.bind(lay, f.id, f, l); }
      });
      group.addLayer(gj);
    }
    this.updateLegend();
    this.declutter();
    if (lay.cfg.id === "compounds") { this.openFocus(); }
  };

  /* Cluster discs of every layer moved apart so no count hides another: the biggest stay where they
     are, each other one goes to the nearest free spot on rings around its place (a few pixels off). */
  App.prototype.declutter = function () {
    var self = this, all = [], placed = [];
    this.order.forEach(function (id) {
      var lay = self.layers[id];
      if (lay.mode !== "clusters" || !self.map.hasLayer(lay.group)) { return; }
      lay.group.eachLayer(function (m) { if (m.cgisHome) { all.push(m); } });
    });
    all.sort(function (a, b) { return b.cgisSize - a.cgisSize; });
    all.forEach(function (m) {
      var home = self.map.latLngToLayerPoint(m.cgisHome), r = m.cgisSize / 2, spot = home;
      for (var ring = 0; ring < 40; ring += 1) {
        spot = self.freeSpot(home, r, ring * 4, placed);
        if (spot) { break; }
      }
      spot = spot || home;
      placed.push({ p: spot, r: r });
      m.setLatLng(self.map.layerPointToLatLng(spot));
    });
  };

  App.prototype.freeSpot = function (home, r, dist, placed) {
    var steps = dist === 0 ? 1 : Math.max(8, Math.round(dist * 1.5));
    for (var i = 0; i < steps; i += 1) {
      var a = 2 * Math.PI * i / steps, p = L.point(home.x + dist * Math.cos(a), home.y + dist * Math.sin(a));
      var clear = placed.every(function (q) { return p.distanceTo(q.p) >= r + q.r + 2; });
      if (clear) { return p; }
    }
    return null;
  };

  App.prototype.color = function (lay, key) {
    return lay.colors[key] || lay.cfg.fillColor || lay.cfg.color;
  };

  App.prototype.areaStyle = function (lay, key) {
    var c = this.color(lay, key);
    return { color: key === "_all" ? lay.cfg.color : c, weight: lay.cfg.weight, fillColor: c,
             fillOpacity: lay.cfg.fillOpacity, opacity: 0.9 };
  };

  App.prototype.pointMarker = function (lay, ll, key) {
    var opts = { radius: lay.cfg.radius + 1, color: "#ffffff", weight: 1, fillColor: this.color(lay, key),
                 fillOpacity: 0.95, renderer: this.pointCanvas };
    return lay.cfg.marker === "square" ? new SquareMarker(ll, opts) : L.circleMarker(ll, opts);
  };

  App.prototype.clusterMarker = function (lay, c) {
    var self = this, n = c[2];
    var size = n < 10 ? 18 : n < 100 ? 22 : n < 1000 ? 26 : 30;
    var box = el("div", "cgis-cluster cgis-cluster-" + (lay.cfg.kind === "point" ? "point" : "area"));
    box.style.background = this.color(lay, c[3]);
    box.style.width = box.style.height = size + "px";
    box.appendChild(el("span", null, n >= 10000 ? Math.round(n / 1000) + "k" : n));
    var ll = this.toLatLng(c[0], c[1]);
    var m = L.marker(ll, { icon: L.divIcon({ html: box, className: "cgis-cluster-icon", iconSize: [size, size] }),
                           keyboard: false, title: lay.cfg.title + ": " + n });
    m.on("click", function () { self.map.setView(ll, Math.min(self.zoom() + 2, 19)); });
    m.cgisHome = ll;
    m.cgisSize = size;
    return m;
  };

  App.prototype.bind = function (lay, id, feature, layer) {
    var self = this, props = feature ? feature.properties : {};
    lay.byId[id] = layer;
    layer.cgisId = id;
    layer.cgisProps = props;
    var label = lay.cfg.label && props[lay.cfg.label];
    if (label !== undefined && label !== null && label !== "") {
      layer.bindTooltip(function () { return el("span", "cgis-tooltip", label); }, { sticky: true, direction: "top" });
    }
    if (lay.cfg.id === "compounds") {  // details in the side panel, so the compound stays in sight
      layer.on("click", function () { self.showPanel(lay, id, props, layer); });
      return;
    }
    var box = null;  // Leaflet calls the content function on every update: build (and fetch) once per opening
    layer.bindPopup(function () { box = box || self.popup(lay, id, props, layer); return box; },
                    { minWidth: 220, maxWidth: 380 });
    layer.on("popupclose", function () { box = null; });
  };

  // ------------------------------------------------------------ popups

  App.prototype.popup = function (lay, id, props, layer) {
    var self = this, box = el("div", "cgis-popup");
    box.setAttribute("data-layer", lay.cfg.id);
    box.setAttribute("data-id", String(id));
    var full = this.cfg.data !== null && this.cfg.data !== undefined;
    if (full || !this.cfg.api) {
      this.fillPopup(box, lay, id, props);
    } else {
      box.appendChild(el("div", "cgis-popup-title", lay.cfg.title));
      box.appendChild(el("div", "cgis-muted", this.t.loading));
      var url = this.cfg.api + "/collections/" + encodeURIComponent(lay.cfg.id) + "/items/" + encodeURIComponent(id);
      this.busy(1);
      fetch(url, { headers: { Accept: "application/geo+json" } })
        .then(function (r) { if (!r.ok) { throw new Error("HTTP " + r.status); } return r.json(); })
        .then(function (f) {
          var merged = {};
          Object.keys(f.properties || {}).forEach(function (k) { merged[k] = f.properties[k]; });
          if (props && props._v !== undefined) { merged._v = props._v; merged._c = props._c; }
          self.fillPopup(box, lay, id, merged);
          var p = layer.getPopup && layer.getPopup();
          if (p) { p.update(); }
        })
        .catch(function () {
          box.lastChild.textContent = self.t.error;
        })
        .then(function () { self.busy(-1); });
    }
    return box;
  };

  App.prototype.format = function (f, v) {
    if (v === null || v === undefined || v === "") { return null; }
    if (f.values && Object.prototype.hasOwnProperty.call(f.values, v)) { return f.values[v]; }
    if (f.type === "boolean") { return v ? this.t.yes : this.t.no; }
    var text = String(v);
    if (typeof v === "number") {  // 12,345 but 1993 (years and small counts read better ungrouped)
      text = v.toLocaleString(this.cfg.lang === "zh" ? "zh-CN" : "en", { useGrouping: Math.abs(v) >= 10000,
                                                                         maximumFractionDigits: 2 });
    }
    if (f.unit) { text += " " + (this.cfg.lang === "zh" && UNITS_ZH[f.unit] ? UNITS_ZH[f.unit] : f.unit); }
    return text;
  };

  App.prototype.fillPopup = function (box, lay, id, props) {
    var self = this;
    while (box.firstChild) { box.removeChild(box.firstChild); }
    var name = lay.cfg.label ? props[lay.cfg.label] : null;
    var title = el("div", "cgis-popup-title");
    title.appendChild(el("span", "cgis-popup-layer", lay.cfg.title));
    if (name !== null && name !== undefined && name !== "") { title.appendChild(el("span", "cgis-popup-name", name)); }
    box.appendChild(title);
    var table = el("table", "cgis-popup-table");
    lay.cfg.fields.forEach(function (f) {
      if (f.name === lay.cfg.label) { return; }
      var text = self.format(f, props[f.name]);
      if (text === null) { return; }
      var row = el("tr");
      row.setAttribute("data-field", f.name);
      row.appendChild(el("th", null, f.title));
      row.appendChild(el("td", null, text));
      table.appendChild(row);
    });
    if (props._v !== undefined && lay.cfg.legend) {  // the analysis value the compound is coloured by
      var row = el("tr", "cgis-popup-analysis"), cls = null, v = props._v;
      lay.cfg.legend.classes.forEach(function (c) { if (c.key === props._c) { cls = c.label; } });
      var shown = typeof v === "number" ? Math.round(v * 100) / 100 + (cls ? " (" + cls + ")" : "") : (cls || v);
      row.appendChild(el("th", null, lay.cfg.legend.title));
      row.appendChild(el("td", null, v === null && !cls ? "—" : shown));
      table.appendChild(row);
    }
    box.appendChild(table);
    if (this.cfg.links) {
      var links = el("div", "cgis-popup-links"), base = this.cfg.links, sid = encodeURIComponent(id);
      links.appendChild(link(base + "/collections/" + encodeURIComponent(lay.cfg.id) + "/items/" + sid, this.t.item));
      if (lay.cfg.id === "compounds") {
        links.appendChild(link(base + "/compounds/" + sid + "/summary", this.t.summary));
        links.appendChild(link(base + "/reports/compounds/" + sid + ".pdf", this.t.report));
      }
      box.appendChild(links);
    }
  };

  App.prototype.openFocus = function () {
    if (this.focusId === null || this.focusId === undefined) { return; }
    var lay = this.layers.compounds, target = lay && lay.byId[this.focusId];
    if (!target) { return; }
    this.focusId = null;
    this.showPanel(lay, target.cgisId, target.cgisProps || {}, target);
  };

  // ------------------------------------------------------------ the compound details panel

  App.prototype.panelControl = function () {
    var self = this, ctl = L.control({ position: "topleft" });
    ctl.onAdd = function () {
      var box = el("div", "cgis-panel");  // not leaflet-bar: it styles every <a> as a 26 px button
      box.style.display = "none";
      L.DomEvent.disableClickPropagation(box);
      L.DomEvent.disableScrollPropagation(box);
      var close = el("button", "cgis-panel-close", "×");
      close.type = "button";
      close.setAttribute("aria-label", self.cfg.lang === "zh" ? "关闭" : "Close");
      close.addEventListener("click", function () { self.hidePanel(); });
      self.panelBody = el("div", "cgis-panel-body");
      box.appendChild(close);
      box.appendChild(self.panelBody);
      self.panelBox = box;
      return box;
    };
    return ctl;
  };

  App.prototype.showPanel = function (lay, id, props, layer) {
    if (this.selected && this.selected.setStyle) { this.selected.setStyle({ weight: lay.cfg.weight }); }
    this.selected = layer;
    if (layer.setStyle) { layer.setStyle({ weight: 4 }); }
    if (this.isoGroup) { this.isoGroup.clearLayers(); }  // the walks drawn belong to the previous compound
    if (this.routeGroup) { this.routeGroup.clearLayers(); }
    var body = this.popup(lay, id, props, layer);
    this.panelBody.textContent = "";
    this.panelBody.appendChild(body);
    if (lay.cfg.id === "compounds" && this.cfg.api) {
      this.planRows(id);
      this.panelBody.appendChild(this.isochroneButton(id));
    }
    this.panelBox.style.width = this.panelWidth() + "px";
    this.panelBox.style.maxHeight = Math.max(120, this.map.getSize().y - 150) + "px";
    this.panelBox.style.display = "";
  };

  /* "建议版本 (analysis)" beside "计划版本 (plan, status)", so nobody mistakes one for the other. */
  App.prototype.planRows = function (id) {
    var self = this, holder = el("table", "cgis-plan");
    this.panelBody.appendChild(holder);
    fetch(this.cfg.api + "/compounds/" + encodeURIComponent(id) + "/plan", { headers: { Accept: "application/json" } })
      .then(function (r) { if (!r.ok) { throw new Error("HTTP " + r.status); } return r.json(); })
      .then(function (p) {
        var zh = self.cfg.lang === "zh", s = p.suggested, plan = p.plan;
        var suggested = s.tier ? (zh ? s.tier_zh : s.tier) : self.t.not_eligible;
        var planned = plan ? (zh ? (plan.tier_zh || "—") + "（" + plan.status_zh + "）"
                                 : (plan.tier || "—") + " (" + plan.status + ")") : self.t.no_plan;
        [[self.t.suggested, suggested, "suggested"], [self.t.planned + " " + p.year, planned, "planned"]]
          .forEach(function (r) {
            var row = el("tr");
            row.setAttribute("data-plan", r[2]);
            row.appendChild(el("th", null, r[0]));
            row.appendChild(el("td", null, r[1]));
            holder.appendChild(row);
          });
      })
      .catch(function () { holder.appendChild(el("tr", null, self.t.error)); });
  };

  // 5/10/15-minute walks from a compound (GET /compounds/{id}/isochrones), widest drawn first, and the
  // walking route to the nearest facility of each category (GET /compounds/{id}/nearest-facilities)
  var ISO_COLORS = { 5: "#1b7837", 10: "#5aae61", 15: "#a6dba0" };
  var ROUTE_COLORS = { within: "#2166ac", outside: "#b2182b" };  // within the category's circle or not

  App.prototype.isochroneButton = function (id) {
    var self = this, button = el("button", "cgis-iso", this.t.isochrones);
    var base = self.cfg.api + "/compounds/" + encodeURIComponent(id);
    button.type = "button";
    button.addEventListener("click", function () {
      self.busy(1);
      Promise.all([self.getGeoJSON(base + "/isochrones?minutes=5,10,15"),
                   self.getGeoJSON(base + "/nearest-facilities")])
        .then(function (both) {
          self.drawIsochrones(both[0].features || []);
          self.drawRoutes(both[1].features || []);
        })
        .catch(function () { self.status(self.t.error); })
        .then(function () { self.busy(-1); });
    });
    return button;
  };

  App.prototype.getGeoJSON = function (url) {
    return fetch(url, { headers: { Accept: "application/geo+json" } })
      .then(function (r) { if (!r.ok) { throw new Error("HTTP " + r.status); } return r.json(); });
  };

  App.prototype.drawRoutes = function (features) {
    var self = this;
    if (!this.routeGroup) { this.routeGroup = L.layerGroup().addTo(this.map); }
    this.routeGroup.clearLayers();
    features.forEach(function (f) {
      if (!f.geometry || f.geometry.type !== "LineString") { return; }  // nothing within reach
      var p = f.properties, color = p.within_circle ? ROUTE_COLORS.within : ROUTE_COLORS.outside;
      var coords = f.geometry.coordinates, end = coords[coords.length - 1];
      var tip = function () { return self.routeTip(p); };
      var route = L.polyline(coords.map(function (c) { return self.toLatLng(c[0], c[1]); }), {
        renderer: self.canvas, color: color, weight: 2, opacity: 0.9, dashArray: p.estimated ? "4 4" : null
      });
      var marker = L.circleMarker(self.toLatLng(end[0], end[1]), {
        renderer: self.canvas, radius: 5, color: color, weight: 2, fillColor: "#ffffff", fillOpacity: 1
      });
      route.bindTooltip(tip, { sticky: true });
      marker.bindTooltip(tip);
      self.routeGroup.addLayer(route);
      self.routeGroup.addLayer(marker);
    });
  };

  App.prototype.routeTip = function (p) {
    var box = el("div", "cgis-tooltip"), zh = this.cfg.lang === "zh";
    box.appendChild(el("div", null, (zh ? p.category_zh : p.category_en) || p.category));
    if (p.facility_name) { box.appendChild(el("div", null, p.facility_name)); }
    box.appendChild(el("div", null, p.minutes.toFixed(1) + " " + this.t.minutes + " · " + Math.round(p.distance_m) + " m" +
                                    (p.estimated ? " (" + this.t.estimated + ")" : "")));
    return box;
  };

  App.prototype.drawIsochrones = function (features) {
    var self = this;
    if (!this.isoGroup) { this.isoGroup = L.layerGroup().addTo(this.map); }
    this.isoGroup.clearLayers();
    features.slice().reverse().forEach(function (f) {
      var color = ISO_COLORS[f.properties.minutes] || "#5aae61";
      self.isoGroup.addLayer(L.geoJSON(f, {
        renderer: self.canvas, interactive: false,
        coordsToLatLng: function (c) { return self.toLatLng(c[0], c[1]); },
        style: function () { return { color: color, weight: 1, fillColor: color, fillOpacity: 0.25,
                                      dashArray: f.properties.estimated ? "4 3" : null }; }
      }));
    });
  };

  App.prototype.hidePanel = function () {
    if (this.isoGroup) { this.isoGroup.clearLayers(); }
    if (this.routeGroup) { this.routeGroup.clearLayers(); }
    if (this.selected && this.selected.setStyle) { this.selected.setStyle({ weight: this.layers.compounds.cfg.weight }); }
    this.selected = null;
    this.panelBox.style.display = "none";
  };

  // ------------------------------------------------------------ overlays

  App.prototype.drawOverlay = function (ov) {
    var self = this, data = ov.data, group = ov.group, color = ov.cfg.color;
    group.clearLayers();
    ov.mode = data.mode;
    if (data.mode === "points") {
      var radius = data.radius_m || this.cfg.hydrantRadius;
      data.points.forEach(function (p) {
        group.addLayer(L.circle(self.toLatLng(p[1], p[2]), { radius: radius, color: color, weight: 1, opacity: 0.6,
                                                              fillOpacity: 0.07, interactive: false,
                                                              renderer: self.canvas }));
      });
      return;
    }
    if (data.mode !== "features") { return; }
    group.addLayer(L.geoJSON(data.features, {
      renderer: this.canvas,
      coordsToLatLng: function (c) { return self.toLatLng(c[0], c[1]); },
      style: function () {
        return ov.cfg.kind === "lines" ? { color: color, weight: 2.5, opacity: 0.85, dashArray: "6 4" }
          : { color: color, weight: 1, fillColor: color, fillOpacity: 0.45 };
      },
      onEachFeature: function (f, l) {
        l.bindTooltip(function () { return self.overlayTip(ov, f.properties || {}); }, { sticky: true });
      }
    }));
  };

  App.prototype.overlayTip = function (ov, p) {
    var box = el("div", "cgis-tooltip");
    if (ov.cfg.kind === "lines") {
      box.appendChild(el("div", null, (p.compound_name || "") + " → " + (p.lot_name || "")));
      box.appendChild(el("div", null, p.spaces + " " + this.t.spaces + " · " + Math.round(p.distance_m) + " m"));
    } else {
      box.appendChild(el("div", null, p.name || ""));
      if (p.uncovered_m2 !== undefined) { box.appendChild(el("div", null, Math.round(p.uncovered_m2) + " m²")); }
    }
    return box;
  };

  // ------------------------------------------------------------ legend

  App.prototype.legendControl = function () {
    var self = this, ctl = L.control({ position: "bottomright" });
    ctl.onAdd = function () {
      var box = el("div", "cgis-legend leaflet-bar");
      L.DomEvent.disableClickPropagation(box);
      L.DomEvent.disableScrollPropagation(box);
      var details = el("details", "cgis-legend-details");  // collapsible: the summary line folds it
      details.open = true;
      details.appendChild(el("summary", "cgis-legend-title", self.t.legend));
      self.legendBody = el("div", "cgis-legend-body");
      self.statusEl = el("div", "cgis-status");
      details.appendChild(self.legendBody);
      box.appendChild(details);
      box.appendChild(self.statusEl);
      self.legendBox = box;
      return box;
    };
    return ctl;
  };

  App.prototype.colorBySelect = function (lay) {
    var self = this, sel = el("select", "cgis-color-by");
    sel.setAttribute("aria-label", this.t.color_by);
    var current = this.cfg.colorBy || lay.cfg.legend.name;
    lay.cfg.colorBy.forEach(function (c) {
      var o = el("option", null, c.title);
      o.value = c.name;
      if (c.name === current) { o.selected = true; }
      sel.appendChild(o);
    });
    sel.addEventListener("change", function () {
      var params = new URLSearchParams(window.location.search);
      params.set("color_by", sel.value);
      window.location.search = params.toString();
    });
    var row = el("label", "cgis-legend-colorby");
    row.appendChild(el("span", null, self.t.color_by + " "));
    row.appendChild(sel);
    return row;
  };

  App.prototype.updateLegend = function () {
    var self = this, body = this.legendBody, anyClusters = false;
    if (!body) { return; }
    while (body.firstChild) { body.removeChild(body.firstChild); }
    this.order.forEach(function (id) {
      var lay = self.layers[id];
      if (!self.map.hasLayer(lay.group)) { return; }
      if (lay.mode === "clusters") { anyClusters = true; }
      var sec = el("div", "cgis-legend-section");
      sec.setAttribute("data-layer", id);
      var head = el("div", "cgis-legend-layer", lay.cfg.title);
      if (self.filters && self.filters[id]) {
        var tag = el("span", "cgis-legend-filtered", " · " + self.t.filter_on);
        tag.title = self.filters[id];
        head.appendChild(tag);
      }
      sec.appendChild(head);
      if (lay.cfg.colorBy.length && self.cfg.api && !self.cfg.data) { sec.appendChild(self.colorBySelect(lay)); }
      if (lay.cfg.legend.classes.length > 1 || lay.cfg.legend.classes[0].key !== "_all") {
        sec.appendChild(el("div", "cgis-legend-scheme", lay.cfg.legend.title));
      }
      var rows = el("div", "cgis-legend-classes");
      lay.cfg.legend.classes.forEach(function (c) {
        var row = el("div", "cgis-legend-row");
        var sw = el("span", "cgis-swatch cgis-swatch-" + (lay.cfg.kind === "point" ? lay.cfg.marker : "area"));
        sw.style.background = c.color;
        row.appendChild(sw);
        row.appendChild(el("span", null, c.label));
        rows.appendChild(row);
      });
      sec.appendChild(rows);
      body.appendChild(sec);
    });
    Object.keys(this.overlays).forEach(function (name) {
      var ov = self.overlays[name];
      if (!self.map.hasLayer(ov.group)) { return; }
      var row = el("div", "cgis-legend-row cgis-legend-overlay");
      var sw = el("span", "cgis-swatch cgis-swatch-" + ov.cfg.kind);
      sw.style.borderColor = ov.cfg.color;
      if (ov.cfg.kind !== "lines") { sw.style.background = ov.cfg.color; }
      row.appendChild(sw);
      var text = ov.cfg.title;
      if (ov.cfg.kind === "circles") { text += " (" + self.t.radius + " " + self.cfg.hydrantRadius + " m)"; }
      row.appendChild(el("span", null, text));
      if (ov.mode === "zoom_in") { row.appendChild(el("span", "cgis-muted", " · " + self.t.zoom_in)); }
      if (ov.mode === "too_many") { row.appendChild(el("span", "cgis-muted", " · " + self.t.too_many)); }
      body.appendChild(row);
    });
    if (anyClusters) { body.appendChild(el("div", "cgis-muted", this.t.cluster_hint)); }
    this.fitLegend();
  };

  // ------------------------------------------------------------ filter (CQL2, as on the OGC API)

  /* One box for every layer: pick the layer, write or pick a CQL2 filter, apply. The filter is checked
     by the API first (/items, one feature), so an error comes back with its position before the map
     changes; the map's views then carry the same filter, and links open the matching items and CSV. */
  App.prototype.filterControl = function () {
    var self = this, ctl = L.control({ position: "topleft" });
    ctl.onAdd = function () {
      var box = el("details", "cgis-filter leaflet-bar");
      L.DomEvent.disableClickPropagation(box);
      L.DomEvent.disableScrollPropagation(box);
      box.appendChild(el("summary", "cgis-filter-title", self.t.filter));
      var layerSel = el("select", "cgis-filter-layer");
      layerSel.setAttribute("aria-label", self.t.filter_layer);
      self.order.forEach(function (id) {
        var o = el("option", null, self.layers[id].cfg.title);
        o.value = id;
        layerSel.appendChild(o);
      });
      var exampleSel = el("select", "cgis-filter-examples");
      exampleSel.setAttribute("aria-label", self.t.filter_examples);
      var text = el("textarea", "cgis-filter-text");
      text.rows = 2;
      text.placeholder = self.t.filter_placeholder;
      text.setAttribute("aria-label", self.t.filter);
      var apply = el("button", "cgis-filter-apply", self.t.filter_apply);
      var clear = el("button", "cgis-filter-clear", self.t.filter_clear);
      apply.type = clear.type = "button";
      var status = el("div", "cgis-filter-status");
      var links = el("div", "cgis-filter-links");
      var fillExamples = function () {
        var lay = self.layers[layerSel.value];
        exampleSel.textContent = "";
        var first = el("option", null, self.t.filter_examples);
        first.value = "";
        exampleSel.appendChild(first);
        (lay.cfg.filters || []).forEach(function (ex) {
          var o = el("option", null, ex.title);
          o.value = ex.cql;
          exampleSel.appendChild(o);
        });
        text.value = self.filters[layerSel.value] || "";
        self.showFilterState(layerSel.value, status, links, null);
      };
      layerSel.addEventListener("change", fillExamples);
      exampleSel.addEventListener("change", function () { if (exampleSel.value) { text.value = exampleSel.value; } });
      apply.addEventListener("click", function () { self.applyFilter(layerSel.value, text.value.trim(), status, links); });
      clear.addEventListener("click", function () {
        text.value = "";
        self.applyFilter(layerSel.value, "", status, links);
      });
      text.addEventListener("keydown", function (e) {
        if (e.key === "Enter" && !e.shiftKey) { e.preventDefault(); apply.click(); }
      });
      var buttons = el("div", "cgis-filter-buttons");
      buttons.appendChild(apply);
      buttons.appendChild(clear);
      [layerSel, exampleSel, text, buttons, status, links].forEach(function (n) { box.appendChild(n); });
      fillExamples();
      self.filterBox = box;
      return box;
    };
    return ctl;
  };

  App.prototype.itemsUrl = function (id, cql, extra) {
    return this.cfg.api + "/collections/" + encodeURIComponent(id) + "/items?filter=" + encodeURIComponent(cql) + extra;
  };

  App.prototype.applyFilter = function (id, cql, status, links) {
    var self = this;
    if (!cql) {
      delete this.filters[id];
      this.showFilterState(id, status, links, null);
      this.refresh();
      this.updateLegend();
      return Promise.resolve(true);
    }
    status.className = "cgis-filter-status";
    status.textContent = this.t.loading;
    var url = this.itemsUrl(id, cql, "&limit=1&skipGeometry=true&f=json");
    return fetch(url, { headers: { Accept: "application/geo+json" } })
      .then(function (r) { return r.json().then(function (body) { return { ok: r.ok, body: body }; }); })
      .then(function (res) {
        if (!res.ok) {
          status.className = "cgis-filter-status cgis-filter-error";
          status.textContent = res.body.description || self.t.error;
          return false;
        }
        self.filters[id] = cql;
        if (!self.map.hasLayer(self.layers[id].group)) { self.map.addLayer(self.layers[id].group); }
        self.showFilterState(id, status, links, res.body.numberMatched);
        self.refresh();
        self.updateLegend();
        return true;
      })
      .catch(function () {
        status.className = "cgis-filter-status cgis-filter-error";
        status.textContent = self.t.error;
        return false;
      });
  };

  App.prototype.showFilterState = function (id, status, links, matched) {
    var cql = this.filters[id];
    links.textContent = "";
    status.className = "cgis-filter-status";
    if (!cql) { status.textContent = this.t.filter_none; return; }
    status.textContent = matched === null || matched === undefined ? this.t.filter_on
      : this.t.filter_matched.replace("{n}", String(matched));
    var limit = "&limit=" + String(this.cfg.maxLimit || 10000);
    links.appendChild(link(this.itemsUrl(id, cql, "&f=html"), this.t.filter_list));
    links.appendChild(link(this.itemsUrl(id, cql, "&f=csv" + limit), "CSV"));
  };

  // ------------------------------------------------------------ search

  App.prototype.searchControl = function () {
    var self = this, ctl = L.control({ position: "topleft" });
    ctl.onAdd = function () {
      var box = el("div", "cgis-search leaflet-bar");
      var input = el("input");
      input.type = "search";
      input.placeholder = self.t.search;
      input.setAttribute("aria-label", self.t.search);
      var list = el("ul", "cgis-search-results");
      box.appendChild(input);
      box.appendChild(list);
      L.DomEvent.disableClickPropagation(box);
      L.DomEvent.disableScrollPropagation(box);
      var last = [];
      var run = function (then) {
        var q = input.value.trim();
        if (!q) { list.textContent = ""; last = []; return; }
        self.findCompounds(q).then(function (hits) {
          if (input.value.trim() !== q) { return; }
          last = hits;
          self.showHits(list, hits, input);
          if (then) { then(hits); }
        }).catch(function () { list.textContent = ""; list.appendChild(el("li", "cgis-muted", self.t.error)); });
      };
      input.addEventListener("input", debounce(function () { run(); }, 250));
      input.addEventListener("keydown", function (e) {
        if (e.key !== "Enter") { return; }
        e.preventDefault();
        run(function (hits) { if (hits.length) { self.goTo(hits[0], input, list); } });
      });
      self.searchInput = input;
      self.searchList = list;
      return box;
    };
    return ctl;
  };

  /* Compounds whose name holds q (or whose source id is q): from /compounds/search when served, from the
     embedded data in a file. */
  App.prototype.findCompounds = function (q) {
    if (this.cfg.api && !this.cfg.data) {
      var url = this.cfg.api + "/compounds/search?limit=8&q=" + encodeURIComponent(q);
      return fetch(url, { headers: { Accept: "application/json" } })
        .then(function (r) { if (!r.ok) { throw new Error("HTTP " + r.status); } return r.json(); })
        .then(function (body) { return body.results || []; });
    }
    var data = this.cfg.data && this.cfg.data.compounds, needle = q.toLowerCase(), hits = [];
    (data && data.features || []).forEach(function (f) {
      var p = f.properties || {};
      if (hits.length < 8 && (String(p.name || "").toLowerCase().indexOf(needle) >= 0 ||
                              (p.source_id && String(p.source_id).toLowerCase() === needle))) {
        var b = L.geoJSON(f).getBounds();
        hits.push({ id: f.id, name: p.name, street: p.street, district: p.district, source_id: p.source_id,
                    bbox: [b.getWest(), b.getSouth(), b.getEast(), b.getNorth()] });
      }
    });
    return Promise.resolve(hits);
  };

  App.prototype.showHits = function (list, hits, input) {
    var self = this;
    list.textContent = "";
    if (!hits.length) { list.appendChild(el("li", "cgis-muted", this.t.no_results)); return; }
    hits.forEach(function (h) {
      var li = el("li", "cgis-search-hit");
      li.setAttribute("data-id", String(h.id));
      li.appendChild(el("span", "cgis-search-name", h.name));
      var where = [h.street, h.district, h.source_id].filter(function (v) { return v; }).join(" · ");
      if (where) { li.appendChild(el("span", "cgis-muted", " " + where)); }
      li.addEventListener("click", function () { self.goTo(h, input, list); });
      list.appendChild(li);
    });
  };

  App.prototype.goTo = function (hit, input, list) {
    var sw = this.toLatLng(hit.bbox[0], hit.bbox[1]), ne = this.toLatLng(hit.bbox[2], hit.bbox[3]);
    this.focusId = hit.id;
    if (input) { input.value = hit.name || ""; }
    if (list) { list.textContent = ""; }
    // as wide a margin on the right as the details panel takes on the left: the compound stays centred
    var side = this.panelWidth() + 20;
    this.map.fitBounds(L.latLngBounds(sw, ne), { maxZoom: 17, padding: [side, 40] });
    this.openFocus();
  };

  // ------------------------------------------------------------ test and debug hooks

  App.prototype.drawn = function (id) {
    var lay = this.layers[id] || this.overlays[id];
    var n = 0;
    if (!lay || !this.map.hasLayer(lay.group)) { return 0; }
    lay.group.eachLayer(function (l) { n += l.getLayers ? l.getLayers().length : 1; });
    return n;
  };

  window.CompoundMap = {
    init: function (map, cfg, refs) { return new App(map, cfg, refs); },
    toGcj: toGcj,
    snapToTiles: snapToTiles
  };
})();
