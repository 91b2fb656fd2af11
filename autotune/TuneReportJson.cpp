//===- TuneReportJson.cpp - TuneReport to and from JSON -------------------===//

#include "autotune/TuneReportJson.h"

#include <cmath>

namespace flashgen {

namespace {

/// JSON has no infinity: a dropped candidate's time is null.
json::Value msValue(double ms) {
  return std::isfinite(ms) ? json::Value::number(ms) : json::Value::null();
}

double msOf(const json::Value *v) {
  return v && v->isNumber() ? v->asDouble() : INFINITY;
}

const json::Value *field(const json::Value &obj, const char *key,
                         json::Value::Kind kind, std::string &why) {
  const json::Value *v = obj.find(key);
  if (!v || v->kind() != kind) {
    why = std::string("field ") + key + " is missing or not " +
          json::kindName(kind);
    return nullptr;
  }
  return v;
}

} // namespace

json::Value reportToValue(const TuneReport &r) {
  json::Value v = json::Value::object();
  v.set("kernel", json::Value::string(r.kernel));
  v.set("bucket", json::Value::string(r.bucket));
  v.set("sizes", json::Value::string(r.sizes));
  v.set("device", json::Value::string(r.device));
  v.set("winner", json::Value::integer(r.winner));
  v.set("winner_ms", msValue(r.winnerMs));
  v.set("variant0_ms", msValue(r.variant0Ms));
  v.set("speedup", json::Value::number(r.speedup));
  v.set("variant0_spread", json::Value::number(r.variant0Spread));
  v.set("model_rank_matched", json::Value::boolean(r.modelRankMatched));
  v.set("from_file", json::Value::boolean(r.fromFile));
  v.set("input_sets", json::Value::integer(r.inputSets));
  v.set("tuning_file", json::Value::string(r.tuningFile));
  json::Value notes = json::Value::array();
  for (const std::string &n : r.notes)
    notes.push(json::Value::string(n));
  v.set("notes", std::move(notes));
  json::Value list = json::Value::array();
  for (const TuneCandidate &c : r.candidates) {
    json::Value e = json::Value::object();
    e.set("variant", json::Value::integer(c.variant));
    e.set("schedule", json::Value::string(c.schedule));
    e.set("ok", json::Value::boolean(c.ok));
    e.set("problem", json::Value::string(c.problem));
    e.set("median_ms", msValue(c.medianMs));
    e.set("p20_ms", msValue(c.p20Ms));
    e.set("p80_ms", msValue(c.p80Ms));
    e.set("rel_error", std::isfinite(c.relError)
                           ? json::Value::number(c.relError)
                           : json::Value::null());
    e.set("reps", json::Value::integer(c.reps));
    e.set("time_rank", json::Value::integer(c.timeRank));
    list.push(std::move(e));
  }
  v.set("candidates", std::move(list));
  return v;
}

std::string toJson(const TuneReport &report) {
  return reportToValue(report).dump();
}

bool reportFromValue(const json::Value &v, TuneReport &out, std::string &why) {
  out = TuneReport();
  using K = json::Value::Kind;
  const json::Value *kernel, *bucket, *winner, *cands;
  if (!(kernel = field(v, "kernel", K::String, why)) ||
      !(bucket = field(v, "bucket", K::String, why)) ||
      !(winner = field(v, "winner", K::Number, why)) ||
      !(cands = field(v, "candidates", K::Array, why)))
    return false;
  if (!winner->isInteger()) {
    why = "field winner is not an integer";
    return false;
  }
  out.kernel = kernel->asString();
  out.bucket = bucket->asString();
  out.winner = static_cast<int>(winner->asInt());
  if (const json::Value *s = v.find("sizes"); s && s->isString())
    out.sizes = s->asString();
  if (const json::Value *s = v.find("device"); s && s->isString())
    out.device = s->asString();
  out.winnerMs = msOf(v.find("winner_ms"));
  out.variant0Ms = msOf(v.find("variant0_ms"));
  if (const json::Value *s = v.find("speedup"); s && s->isNumber())
    out.speedup = s->asDouble();
  if (const json::Value *s = v.find("variant0_spread"); s && s->isNumber())
    out.variant0Spread = s->asDouble();
  if (const json::Value *s = v.find("model_rank_matched"); s && s->isBool())
    out.modelRankMatched = s->asBool();
  if (const json::Value *s = v.find("input_sets"); s && s->isInteger())
    out.inputSets = static_cast<int>(s->asInt());
  if (const json::Value *s = v.find("notes"); s && s->isArray())
    for (const json::Value &n : s->items())
      if (n.isString())
        out.notes.push_back(n.asString());
  for (const json::Value &e : cands->items()) {
    const json::Value *variant = field(e, "variant", K::Number, why);
    if (!variant || !variant->isInteger())
      return false;
    TuneCandidate c;
    c.variant = static_cast<int>(variant->asInt());
    if (const json::Value *s = e.find("schedule"); s && s->isString())
      c.schedule = s->asString();
    if (const json::Value *s = e.find("ok"); s && s->isBool())
      c.ok = s->asBool();
    if (const json::Value *s = e.find("problem"); s && s->isString())
      c.problem = s->asString();
    c.medianMs = msOf(e.find("median_ms"));
    c.p20Ms = msOf(e.find("p20_ms"));
    c.p80Ms = msOf(e.find("p80_ms"));
    c.relError = msOf(e.find("rel_error"));
    if (const json::Value *s = e.find("reps"); s && s->isInteger())
      c.reps = static_cast<int>(s->asInt());
    if (const json::Value *s = e.find("time_rank"); s && s->isInteger())
      c.timeRank = static_cast<int>(s->asInt());
    out.candidates.push_back(std::move(c));
  }
  return true;
}

} // namespace flashgen
