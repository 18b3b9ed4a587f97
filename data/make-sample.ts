/**
 * Generates the bundled sample dataset in data/sample/: three FHIR searchset Bundles
 * (PlanDefinition, ActivityDefinition, RegulatedAuthorization) shaped like the national
 * H-resept APIs, including the irregular shapes the tolerant reader must handle.
 *
 * The data is synthetic: drug and brand names, ICD-10 codes and regional health authorities
 * are real, while identifiers, FEST article numbers (varenummer), rankings and dates are made up.
 *
 * Deterministic: every UUID, article number and timestamp is derived from a SHA-256 hash of a
 * fixed key, so running the script twice writes byte-identical files.
 *
 *   node_modules/.bin/bun data/make-sample.ts [FOLDER]
 */
import { createHash } from "node:crypto";
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";

// ---------------------------------------------------------------------------------------------
// Systems and URLs
// ---------------------------------------------------------------------------------------------

const BASE = "http://nompd.example/fhir";
const ID_SYSTEM = `${BASE}/NamingSystem/hresept-id`;
const VARENUMMER_SYSTEM = `${BASE}/NamingSystem/FEST-Varenummer`;
const RHF_SYSTEM = "urn:oid:2.16.578.1.12.4.1.102";
const ICD10_SYSTEM = "urn:oid:2.16.578.1.12.4.1.1.7110";
const ATC_SYSTEM = "http://www.whocc.no/atc";
const SNOMED_SYSTEM = "http://snomed.info/sct";
const USAGE_CONTEXT_SYSTEM = "http://terminology.hl7.org/CodeSystem/usage-context-type";
const EXT_DISEASE_GROUP = `${BASE}/StructureDefinition/diseaseGroup`;
const EXT_RANK = `${BASE}/StructureDefinition/rank`;
const EXT_ARTICLE_NUMBER = `${BASE}/StructureDefinition/articleNumber`;
const EXT_REIMBURSEMENT = `${BASE}/StructureDefinition/reimbursementRegulation`;
const EXT_REIMBURSEMENT_UPPER = `${BASE}/StructureDefinition/ReimbursementRegulation`;
const REFUSJONSHJEMMEL_SYSTEM = `${BASE}/CodeSystem/refusjonshjemmel`;
const TERAPIOMRAADE_SYSTEM = `${BASE}/CodeSystem/terapiomraade`;
const CONTENT_VERSION = "2025.1";
const BUNDLE_TIMESTAMP = "2025-05-02T00:00:05Z";

/** data/sample/, or the folder given as the first argument (the tests write to a temp folder). */
const OUT_DIR = process.argv[2] ?? join(import.meta.dir, "sample");

// ---------------------------------------------------------------------------------------------
// Regional health authorities (RHF)
// ---------------------------------------------------------------------------------------------

type Rhf = "sorost" | "vest" | "nord" | "midt";

const RHF: Record<Rhf, { code: string; display: string }> = {
  sorost: { code: "100020", display: "Helse Sør-Øst RHF" },
  vest: { code: "100021", display: "Helse Vest RHF" },
  nord: { code: "100022", display: "Helse Nord RHF" },
  midt: { code: "100023", display: "Helse Midt-Norge RHF" },
};
const ALL_RHF: Rhf[] = ["sorost", "vest", "nord", "midt"];

// ---------------------------------------------------------------------------------------------
// ICD-10 (Norwegian displays)
// ---------------------------------------------------------------------------------------------

const ICD10: Record<string, string> = {
  G35: "Multippel sklerose",
  M05: "Seropositiv revmatoid artritt",
  M06: "Annen revmatoid artritt",
  M45: "Ankyloserende spondylitt",
  "M46.8": "Annen spesifisert inflammatorisk spondylopati",
  "M31.5": "Kjempecellearteritt med polymyalgia rheumatica",
  "M31.6": "Annen kjempecellearteritt",
  "L40.0": "Psoriasis vulgaris",
  "L40.5": "Artropatisk psoriasis",
  "L73.2": "Hidrosadenitt",
  K50: "Crohns sykdom",
  "K50.0": "Crohns sykdom i tynntarm",
  "K50.1": "Crohns sykdom i tykktarm",
  K51: "Ulcerøs kolitt",
  "B18.2": "Kronisk virushepatitt C",
  B20: "Sykdom som skyldes humant immunsviktvirus [HIV] med infeksjonssykdommer og parasittsykdommer",
  B24: "Uspesifisert sykdom som skyldes humant immunsviktvirus [HIV]",
  Z21: "Asymptomatisk infeksjonsstatus med humant immunsviktvirus [HIV]",
  J45: "Astma",
  "J45.0": "Overveiende allergisk astma",
  "J45.1": "Ikke-allergisk astma",
  "J45.9": "Uspesifisert astma",
  "J33.9": "Uspesifisert nesepolypp",
  "L50.1": "Idiopatisk urtikaria",
  L20: "Atopisk eksem",
  "L20.9": "Uspesifisert atopisk eksem",
  G43: "Migrene",
  "G43.0": "Migrene uten aura",
  "G43.1": "Migrene med aura",
  "G12.0": "Infantil spinal muskelatrofi, type I [Werdnig-Hoffmann]",
  "G12.1": "Annen arvelig spinal muskelatrofi",
  C34: "Ondartet svulst i bronkie og lunge",
  C43: "Ondartet melanom i hud",
  C44: "Annen ondartet svulst i hud",
  C64: "Ondartet svulst i nyre unntatt nyrebekken",
  C67: "Ondartet svulst i urinblære",
  "C22.0": "Levercellekarsinom",
};

// ---------------------------------------------------------------------------------------------
// Products (one brand of one substance) and their packages
// ---------------------------------------------------------------------------------------------
//
// Every product becomes one ActivityDefinition named "<INN> (<brand>)" unless `standalone` is
// false (then it is only part of a combination below). `packs` are the packages listed on the
// ActivityDefinition (1–4); `otherPacks` appear only on the RegulatedAuthorization of the substance.
// `articles` picks where the ActivityDefinition carries its article numbers:
//   "coding" (default)  productCodeableConcept.coding[] with the FEST-Varenummer system
//   "extension"         one articleNumber extension per number
//   "reference"         productReference.identifier (single package only)
// `atcFirst` puts the ATC coding before the varenummer codings.

type ArticleShape = "coding" | "extension" | "reference";

interface Product {
  key: string;
  inn: string;
  brand: string;
  atc?: string;
  packs: string[];
  otherPacks?: string[];
  description?: string;
  articles?: ArticleShape;
  atcFirst?: boolean;
  standalone?: boolean;
  lastUpdated?: string;
}

/** Article numbers that must have a fixed value (the documented example). */
const FIXED_VARENUMMER: Record<string, string> = {
  "Tysabri inf konc 300 mg 15 ml": "166028",
};

/** Identifiers that must have a fixed value (the documented example). */
const FIXED_UUID: Record<string, string> = {
  "pd-ms-natalizumab": "4077eb19-b094-4712-89b1-c3b5a021ef8d",
  "ad-tysabri": "6d3c0e9f-dd3f-49e6-8c6c-c3ef1ccdfa1a",
};

const PRODUCTS: Product[] = [
  // MS
  { key: "tysabri", inn: "Natalizumab", brand: "Tysabri", lastUpdated: "2025-04-10T08:30:00Z", packs: ["Tysabri inf konc 300 mg 15 ml"], otherPacks: ["Tysabri inj 150 mg 2 ferdigfylte sprøyter"] },
  { key: "ocrevus", inn: "Ocrelizumab", brand: "Ocrevus", packs: ["Ocrevus inf konc 300 mg 10 ml", "Ocrevus inj 920 mg 23 ml"], description: "Intravenøs infusjon hver 6. måned, eller subkutan injeksjon hver 6. måned." },
  { key: "kesimpta", inn: "Ofatumumab", brand: "Kesimpta", packs: ["Kesimpta inj 20 mg 1 ferdigfylt penn"], articles: "extension", description: "Subkutan injeksjon én gang i måneden etter oppstartsdoser. Kan settes hjemme." },
  { key: "tecfidera", inn: "Dimetylfumarat", brand: "Tecfidera", packs: ["Tecfidera enterokaps 120 mg 14 stk", "Tecfidera enterokaps 240 mg 56 stk"] },
  { key: "aubagio", inn: "Teriflunomid", brand: "Aubagio", packs: ["Aubagio tab 14 mg 84 stk"] },
  { key: "copaxone", inn: "Glatirameracetat", brand: "Copaxone", packs: ["Copaxone inj 40 mg/ml 12 ferdigfylte sprøyter"], description: "Kan brukes under graviditet etter vurdering av nevrolog." },
  { key: "plegridy", inn: "Peginterferon beta-1a", brand: "Plegridy", packs: ["Plegridy inj 125 mikrog 2 ferdigfylte penner"] },
  { key: "mavenclad", inn: "Kladribin", brand: "Mavenclad", packs: ["Mavenclad tab 10 mg 1 stk", "Mavenclad tab 10 mg 4 stk", "Mavenclad tab 10 mg 6 stk"], description: "Tablettbehandling i to korte perioder over to år." },
  { key: "lemtrada", inn: "Alemtuzumab", brand: "Lemtrada", packs: ["Lemtrada inf konc 12 mg 1,2 ml"] },
  { key: "gilenya", inn: "Fingolimod", brand: "Gilenya", packs: ["Gilenya kaps 0,5 mg 28 stk", "Gilenya kaps 0,5 mg 98 stk"] },
  { key: "zeposia", inn: "Ozanimod", brand: "Zeposia", packs: ["Zeposia kaps 0,23 mg/0,46 mg startpakning 7 stk", "Zeposia kaps 0,92 mg 98 stk"] },
  { key: "ponvory", inn: "Ponesimod", brand: "Ponvory", packs: ["Ponvory tab startpakning 14 stk", "Ponvory tab 20 mg 28 stk"] },

  // Revmatologi: TNF-hemmere
  { key: "hyrimoz", inn: "Adalimumab", brand: "Hyrimoz", atc: "L04AB04", packs: ["Hyrimoz inj 40 mg/0,4 ml 2 ferdigfylte penner", "Hyrimoz inj 80 mg/0,8 ml 1 ferdigfylt penn"], otherPacks: ["Hyrimoz inj 20 mg/0,2 ml 1 ferdigfylt sprøyte"], description: "Biotilsvarende adalimumab. Førstevalg ved oppstart og ved bytte fra annen adalimumab." },
  { key: "amgevita", inn: "Adalimumab", brand: "Amgevita", atc: "L04AB04", packs: ["Amgevita inj 40 mg 2 ferdigfylte penner", "Amgevita inj 40 mg 6 ferdigfylte penner"], otherPacks: ["Amgevita inj 20 mg 1 ferdigfylt sprøyte"], articles: "extension" },
  { key: "benepali", inn: "Etanercept", brand: "Benepali", atc: "L04AB01", packs: ["Benepali inj 50 mg 4 ferdigfylte penner", "Benepali inj 25 mg 4 ferdigfylte sprøyter"] },
  { key: "enbrel", inn: "Etanercept", brand: "Enbrel", atc: "L04AB01", packs: ["Enbrel inj 50 mg 4 ferdigfylte penner", "Enbrel inj 25 mg 4 ferdigfylte sprøyter"] },
  { key: "remsima", inn: "Infliximab", brand: "Remsima", atc: "L04AB02", atcFirst: true, packs: ["Remsima pulv til inf konc 100 mg 1 hgl", "Remsima inj 120 mg 2 ferdigfylte penner"], description: "Intravenøs induksjon; vedlikehold intravenøst eller subkutant." },
  { key: "cimzia", inn: "Certolizumab pegol", brand: "Cimzia", atc: "L04AB05", packs: ["Cimzia inj 200 mg 2 ferdigfylte sprøyter", "Cimzia inj 200 mg 2 ferdigfylte penner"], description: "Aktuelt ved graviditet og amming." },
  { key: "simponi", inn: "Golimumab", brand: "Simponi", atc: "L04AB06", packs: ["Simponi inj 50 mg 1 ferdigfylt penn", "Simponi inj 100 mg 1 ferdigfylt penn"] },

  // Revmatologi: andre biologiske og målrettede syntetiske legemidler
  { key: "tyenne", inn: "Tocilizumab", brand: "Tyenne", packs: ["Tyenne inj 162 mg 4 ferdigfylte penner", "Tyenne inf konc 20 mg/ml 20 ml"] },
  { key: "roactemra", inn: "Tocilizumab", brand: "RoActemra", packs: ["RoActemra inj 162 mg 4 ferdigfylte sprøyter", "RoActemra inf konc 20 mg/ml 20 ml"] },
  { key: "kevzara", inn: "Sarilumab", brand: "Kevzara", packs: ["Kevzara inj 200 mg 2 ferdigfylte penner", "Kevzara inj 150 mg 2 ferdigfylte penner"] },
  { key: "orencia", inn: "Abatacept", brand: "Orencia", packs: ["Orencia inj 125 mg 4 ferdigfylte penner", "Orencia pulv til inf konc 250 mg 1 hgl"] },
  { key: "olumiant", inn: "Baricitinib", brand: "Olumiant", packs: ["Olumiant tab 4 mg 28 stk", "Olumiant tab 2 mg 28 stk"], description: "JAK-hemmer. Vurder risiko for tromboembolisme og kardiovaskulære hendelser før oppstart." },
  { key: "xeljanz", inn: "Tofacitinib", brand: "Xeljanz", packs: ["Xeljanz tab 5 mg 56 stk", "Xeljanz tab 10 mg 56 stk", "Xeljanz mikst 1 mg/ml 240 ml"] },
  { key: "rinvoq", inn: "Upadacitinib", brand: "Rinvoq", packs: ["Rinvoq depottab 15 mg 28 stk", "Rinvoq depottab 30 mg 28 stk", "Rinvoq depottab 45 mg 28 stk"] },
  { key: "jyseleca", inn: "Filgotinib", brand: "Jyseleca", packs: ["Jyseleca tab 200 mg 30 stk", "Jyseleca tab 100 mg 30 stk"] },
  { key: "cosentyx", inn: "Secukinumab", brand: "Cosentyx", packs: ["Cosentyx inj 150 mg 2 ferdigfylte penner", "Cosentyx inj 300 mg 1 ferdigfylt penn"] },
  { key: "taltz", inn: "Ixekizumab", brand: "Taltz", packs: ["Taltz inj 80 mg 1 ferdigfylt penn", "Taltz inj 80 mg 3 ferdigfylte penner"] },
  { key: "bimzelx", inn: "Bimekizumab", brand: "Bimzelx", packs: ["Bimzelx inj 160 mg 2 ferdigfylte penner", "Bimzelx inj 320 mg 1 ferdigfylt penn"] },

  // Psoriasis
  { key: "pyzchiva", inn: "Ustekinumab", brand: "Pyzchiva", packs: ["Pyzchiva inj 45 mg 1 ferdigfylt sprøyte", "Pyzchiva inj 90 mg 1 ferdigfylt sprøyte", "Pyzchiva inf konc 130 mg 26 ml"], description: "Biotilsvarende ustekinumab." },
  { key: "skyrizi", inn: "Risankizumab", brand: "Skyrizi", packs: ["Skyrizi inj 150 mg 1 ferdigfylt penn", "Skyrizi inf konc 600 mg 10 ml", "Skyrizi inj 360 mg sylinderampulle med påkoblingsinjektor"] },
  { key: "tremfya", inn: "Guselkumab", brand: "Tremfya", packs: ["Tremfya inj 100 mg 1 ferdigfylt penn"] },
  { key: "ilumetri", inn: "Tildrakizumab", brand: "Ilumetri", packs: ["Ilumetri inj 100 mg 1 ferdigfylt sprøyte", "Ilumetri inj 200 mg 1 ferdigfylt sprøyte"] },
  { key: "kyntheum", inn: "Brodalumab", brand: "Kyntheum", packs: ["Kyntheum inj 210 mg 2 ferdigfylte sprøyter"] },

  // IBD
  { key: "entyvio", inn: "Vedolizumab", brand: "Entyvio", packs: ["Entyvio pulv til inf konc 300 mg 1 hgl", "Entyvio inj 108 mg 2 ferdigfylte penner"], description: "Tarmselektiv integrinhemmer." },
  { key: "velsipity", inn: "Etrasimod", brand: "Velsipity", packs: ["Velsipity tab 2 mg 28 stk"] },
  { key: "omvoh", inn: "Mirikizumab", brand: "Omvoh", packs: ["Omvoh inf konc 300 mg 15 ml", "Omvoh inj 100 mg 2 ferdigfylte penner"] },

  // Hepatitt C
  { key: "maviret", inn: "Glekaprevir/pibrentasvir", brand: "Maviret", atc: "J05AP57", atcFirst: true, packs: ["Maviret tab 100 mg/40 mg 84 stk", "Maviret granulat 50 mg/20 mg 28 dosepose"], description: "Pangenotypisk. Åtte ukers behandling hos de fleste pasienter uten cirrhose." },
  { key: "epclusa", inn: "Sofosbuvir/velpatasvir", brand: "Epclusa", atc: "J05AP55", packs: ["Epclusa tab 400 mg/100 mg 28 stk"], articles: "extension", description: "Pangenotypisk. Tolv ukers behandling." },
  { key: "vosevi", inn: "Sofosbuvir/velpatasvir/voksilaprevir", brand: "Vosevi", atc: "J05AP56", packs: ["Vosevi tab 400 mg/100 mg/100 mg 28 stk"], description: "Ved tidligere behandlingssvikt med direktevirkende antivirale midler." },
  { key: "zepatier", inn: "Elbasvir/grazoprevir", brand: "Zepatier", atc: "J05AP54", packs: ["Zepatier tab 50 mg/100 mg 28 stk"] },

  // HIV
  { key: "dovato", inn: "Dolutegravir/lamivudin", brand: "Dovato", atc: "J05AR25", packs: ["Dovato tab 50 mg/300 mg 30 stk"] },
  { key: "biktarvy", inn: "Bictegravir/emtricitabin/tenofoviralafenamid", brand: "Biktarvy", atc: "J05AR20", packs: ["Biktarvy tab 50 mg/200 mg/25 mg 30 stk", "Biktarvy tab 50 mg/200 mg/25 mg 3 x 30 stk"] },
  { key: "triumeq", inn: "Dolutegravir/abakavir/lamivudin", brand: "Triumeq", atc: "J05AR13", packs: ["Triumeq tab 50 mg/600 mg/300 mg 30 stk"], description: "Forutsetter negativ HLA-B*5701-test." },
  { key: "tivicay", inn: "Dolutegravir", brand: "Tivicay", packs: ["Tivicay tab 50 mg 30 stk"], standalone: false },
  { key: "emtricitabin-tenofovir", inn: "Emtricitabin/tenofovirdisoproksil", brand: "Emtricitabine/Tenofovir disoproxil Zentiva", packs: ["Emtricitabine/Tenofovir disoproxil Zentiva tab 200 mg/245 mg 30 stk"], standalone: false },
  { key: "symtuza", inn: "Darunavir/kobicistat/emtricitabin/tenofoviralafenamid", brand: "Symtuza", atc: "J05AR22", packs: ["Symtuza tab 800 mg/150 mg/200 mg/10 mg 30 stk"] },
  { key: "delstrigo", inn: "Doravirin/lamivudin/tenofovirdisoproksil", brand: "Delstrigo", atc: "J05AR24", packs: ["Delstrigo tab 100 mg/300 mg/245 mg 30 stk"] },
  { key: "juluca", inn: "Dolutegravir/rilpivirin", brand: "Juluca", atc: "J05AR21", packs: ["Juluca tab 50 mg/25 mg 30 stk"] },
  { key: "vocabria", inn: "Kabotegravir", brand: "Vocabria", packs: ["Vocabria tab 30 mg 30 stk", "Vocabria inj 600 mg 3 ml"], standalone: false },
  { key: "rekambys", inn: "Rilpivirin", brand: "Rekambys", packs: ["Rekambys inj 900 mg 3 ml"], standalone: false },

  // Astma (biologiske)
  { key: "nucala", inn: "Mepolizumab", brand: "Nucala", atc: "R03DX09", packs: ["Nucala inj 100 mg 1 ferdigfylt penn", "Nucala inj 100 mg 3 ferdigfylte penner"] },
  { key: "fasenra", inn: "Benralizumab", brand: "Fasenra", atc: "R03DX10", packs: ["Fasenra inj 30 mg 1 ferdigfylt penn"], description: "Injeksjon hver 8. uke etter de tre første dosene." },
  { key: "dupixent", inn: "Dupilumab", brand: "Dupixent", atc: "D11AH05", packs: ["Dupixent inj 300 mg 2 ferdigfylte penner", "Dupixent inj 200 mg 2 ferdigfylte penner", "Dupixent inj 300 mg 6 ferdigfylte penner", "Dupixent inj 200 mg 6 ferdigfylte penner"] },
  { key: "tezspire", inn: "Tezepelumab", brand: "Tezspire", packs: ["Tezspire inj 210 mg 1 ferdigfylt penn"] },
  { key: "xolair", inn: "Omalizumab", brand: "Xolair", atc: "R03DX05", packs: ["Xolair inj 150 mg 1 ferdigfylt penn", "Xolair inj 300 mg 1 ferdigfylt penn", "Xolair inj 75 mg 1 ferdigfylt sprøyte"], description: "Dosering etter total IgE og kroppsvekt." },
  { key: "cinqaero", inn: "Reslizumab", brand: "Cinqaero", atc: "R03DX08", packs: ["Cinqaero inf konc 10 mg/ml 10 ml"] },

  // Migrene (CGRP)
  { key: "emgality", inn: "Galcanezumab", brand: "Emgality", atc: "N02CD02", packs: ["Emgality inj 120 mg 1 ferdigfylt penn", "Emgality inj 120 mg 3 ferdigfylte penner"] },
  { key: "ajovy", inn: "Fremanezumab", brand: "Ajovy", atc: "N02CD03", packs: ["Ajovy inj 225 mg 1 ferdigfylt penn", "Ajovy inj 225 mg 3 ferdigfylte penner"], description: "Månedlig eller kvartalsvis dosering." },
  { key: "aimovig", inn: "Erenumab", brand: "Aimovig", atc: "N02CD01", packs: ["Aimovig inj 70 mg 1 ferdigfylt penn", "Aimovig inj 140 mg 1 ferdigfylt penn"], articles: "extension" },
  { key: "vyepti", inn: "Eptinezumab", brand: "Vyepti", atc: "N02CD05", packs: ["Vyepti inf konc 100 mg/ml 1 ml"], description: "Intravenøs infusjon hver 12. uke." },

  // Nevromuskulære sykdommer
  { key: "spinraza", inn: "Nusinersen", brand: "Spinraza", packs: ["Spinraza inj 12 mg 5 ml"], articles: "extension", description: "Intratekal injeksjon." },
  { key: "evrysdi", inn: "Risdiplam", brand: "Evrysdi", packs: ["Evrysdi pulv til mikst 0,75 mg/ml 80 ml", "Evrysdi tab 5 mg 30 stk"] },
  { key: "zolgensma", inn: "Onasemnogen abeparvovek", brand: "Zolgensma", packs: ["Zolgensma inf susp sett 10,5–11,0 kg"], articles: "reference", description: "Genterapi gitt som én intravenøs infusjon. Behandling ved Oslo universitetssykehus." },

  // Onkologi
  { key: "keytruda", inn: "Pembrolizumab", brand: "Keytruda", atc: "L01FF02", atcFirst: true, packs: ["Keytruda inf konc 25 mg/ml 4 ml"] },
  { key: "opdivo", inn: "Nivolumab", brand: "Opdivo", atc: "L01FF01", packs: ["Opdivo inf konc 10 mg/ml 4 ml", "Opdivo inf konc 10 mg/ml 10 ml", "Opdivo inf konc 10 mg/ml 24 ml"] },
  { key: "tecentriq", inn: "Atezolizumab", brand: "Tecentriq", atc: "L01FF05", packs: ["Tecentriq inf konc 1200 mg 20 ml", "Tecentriq inf konc 840 mg 14 ml", "Tecentriq inj 1875 mg 15 ml"] },
  { key: "imfinzi", inn: "Durvalumab", brand: "Imfinzi", atc: "L01FF03", packs: ["Imfinzi inf konc 50 mg/ml 10 ml", "Imfinzi inf konc 50 mg/ml 2,4 ml"] },
  { key: "libtayo", inn: "Cemiplimab", brand: "Libtayo", atc: "L01FF06", packs: ["Libtayo inf konc 350 mg 7 ml"] },

  // Atopisk eksem
  { key: "adtralza", inn: "Tralokinumab", brand: "Adtralza", packs: ["Adtralza inj 150 mg 4 ferdigfylte sprøyter", "Adtralza inj 300 mg 2 ferdigfylte penner"] },
  { key: "ebglyss", inn: "Lebrikizumab", brand: "Ebglyss", packs: ["Ebglyss inj 250 mg 2 ferdigfylte penner"] },
  { key: "cibinqo", inn: "Abrocitinib", brand: "Cibinqo", packs: ["Cibinqo tab 100 mg 28 stk", "Cibinqo tab 200 mg 28 stk", "Cibinqo tab 50 mg 28 stk"] },
];

/** Alternatives made of more than one product; their article numbers are those of all parts. */
const COMBINATIONS: { key: string; name: string; of: string[]; description?: string }[] = [
  { key: "tivicay-emtricitabin-tenofovir", name: "Dolutegravir (Tivicay) + emtricitabin/tenofovirdisoproksil", of: ["tivicay", "emtricitabin-tenofovir"], description: "Dolutegravir i kombinasjon med generisk emtricitabin/tenofovirdisoproksil." },
  { key: "vocabria-rekambys", name: "Kabotegravir + rilpivirin (Vocabria + Rekambys)", of: ["vocabria", "rekambys"], description: "Langtidsvirkende injeksjonsbehandling hver 2. måned. Oral innledning er valgfri." },
];

// ---------------------------------------------------------------------------------------------
// Treatment groups (PlanDefinition)
// ---------------------------------------------------------------------------------------------
//
// Disease group: `diseaseGroup` (extension), else `typeText` (type.text), else `typeDisplay`
// (type.coding[0].display only).
// `rank`: "integer" (valueInteger), "positiveInt" (valuePositiveInt) or "none" (no rank extension;
// the position in the list is the rank).
// Actions are [alternative key, rank?, canonical style?] in the order they appear upstream.
// Canonical styles: "url" (default, .../ActivityDefinition/<uuid>), "versioned" (url|2025.1),
// "bare" (the uuid alone).
// `useContext`: "single" puts all RHF codings in one usage context, "each" one usage context per RHF.
// `focus` adds a non-RHF usage context (SNOMED CT) that must not end up among the jurisdictions.

type Canon = "url" | "versioned" | "bare";

interface Group {
  id: string;
  name: string;
  title: string;
  description: string;
  diseaseGroup?: string;
  typeText?: string;
  typeDisplay?: string;
  rhf: Rhf[];
  useContext: "single" | "each";
  focus?: { code: string; display: string };
  period: { start: string; end?: string };
  reviewed?: string;
  lastUpdated?: string;
  goals: { text: string; addresses: [code: string, text?: string][] }[];
  rank: "integer" | "positiveInt" | "none";
  actions: [alternative: string, rank?: number, canon?: Canon][];
}

const GROUPS: Group[] = [
  {
    id: "pd-ms-natalizumab",
    name: "Natalizumab",
    title: "Natalizumab ved multippel sklerose",
    description: "Rangering av natalizumab s.c og i.v formulering",
    diseaseGroup: "MS",
    rhf: ["nord"],
    useContext: "single",
    period: { start: "2025-05-01", end: "2027-04-30" },
    reviewed: "2025-04-10",
    lastUpdated: "2025-04-10T08:30:00Z",
    goals: [{ text: "Sykdomsmodifiserende behandling av relapserende-remitterende multippel sklerose", addresses: [["G35", "Multiple sclerosis"]] }],
    rank: "integer",
    actions: [["tysabri", 1]],
  },
  {
    id: "pd-ms-moderat",
    name: "MS - moderat aktiv sykdom",
    title: "Attakkdempende behandling ved moderat aktiv relapserende-remitterende MS",
    description: "Rangering av legemidler til førstegangsbehandling av relapserende-remitterende multippel sklerose med moderat sykdomsaktivitet.",
    diseaseGroup: "MS",
    rhf: ALL_RHF,
    useContext: "single",
    period: { start: "2025-02-01", end: "2026-01-31" },
    reviewed: "2025-01-14",
    goals: [{ text: "Redusere attakkfrekvens og forsinke funksjonstap", addresses: [["G35", "Relapsing-remitting multiple sclerosis"]] }],
    rank: "integer",
    actions: [["kesimpta", 1], ["ocrevus", 2], ["tecfidera", 3], ["aubagio", 4], ["copaxone", 5], ["plegridy", 6]],
  },
  {
    id: "pd-ms-hoyaktiv",
    name: "MS - høyaktiv sykdom",
    title: "Attakkdempende behandling ved høyaktiv relapserende-remitterende MS",
    description: "Rangering av legemidler ved høyaktiv multippel sklerose og ved fortsatt sykdomsaktivitet til tross for førstelinjebehandling.",
    diseaseGroup: "MS",
    rhf: ALL_RHF,
    useContext: "each",
    focus: { code: "24700007", display: "Multiple sclerosis" },
    period: { start: "2025-02-01", end: "2026-01-31" },
    reviewed: "2025-01-14",
    goals: [{ text: "Oppnå sykdomskontroll ved høy sykdomsaktivitet", addresses: [["G35"]] }],
    rank: "integer",
    actions: [["ocrevus", 1], ["kesimpta", 2], ["tysabri", 3], ["mavenclad", 4], ["lemtrada", 5], ["gilenya", 6], ["zeposia", 7], ["ponvory", 8]],
  },
  {
    id: "pd-revma-tnf",
    name: "TNF-hemmere",
    title: "TNF-hemmere ved inflammatoriske revmatiske sykdommer",
    description: "Rangering av TNF-hemmere ved revmatoid artritt, psoriasisartritt og aksial spondyloartritt. Likestilte alternativer har samme rangering; velg det som passer pasienten best.",
    diseaseGroup: "Revmatologi - TNF-hemmere",
    rhf: ALL_RHF,
    useContext: "single",
    period: { start: "2025-03-01T00:00:00+01:00", end: "2026-02-28T23:59:59+01:00" },
    reviewed: "2025-02-12",
    goals: [
      { text: "Revmatoid artritt", addresses: [["M05", "Seropositive rheumatoid arthritis"], ["M06", "Other rheumatoid arthritis"]] },
      { text: "Psoriasisartritt og aksial spondyloartritt", addresses: [["L40.5"], ["M45"]] },
    ],
    rank: "integer",
    actions: [["hyrimoz", 1], ["amgevita", 1], ["benepali", 2], ["remsima", 3], ["enbrel", 4], ["cimzia", 5, "versioned"], ["simponi", 6]],
  },
  {
    id: "pd-revma-andre",
    name: "Andre biologiske legemidler ved revmatoid artritt",
    title: "Biologiske og målrettede syntetiske legemidler ved revmatoid artritt",
    description: "Rangering ved revmatoid artritt når TNF-hemmer ikke er egnet eller ikke har gitt tilstrekkelig effekt.",
    diseaseGroup: "Revmatologi - andre biologiske",
    rhf: ALL_RHF,
    useContext: "each",
    period: { start: "2025-03-01", end: "2026-02-28" },
    reviewed: "2025-02-12",
    goals: [{ text: "Revmatoid artritt etter svikt på TNF-hemmer", addresses: [["M05"], ["M06"]] }],
    rank: "positiveInt",
    actions: [["tyenne", 1], ["roactemra", 2], ["olumiant", 3], ["rinvoq", 4], ["xeljanz", 5], ["kevzara", 6], ["orencia", 7], ["jyseleca", 8]],
  },
  {
    id: "pd-revma-spondyloartritt",
    name: "IL-17-hemmere og JAK-hemmere ved spondyloartritt",
    title: "Andre biologiske legemidler ved aksial spondyloartritt og psoriasisartritt",
    description: "Rangering ved aksial spondyloartritt og psoriasisartritt når TNF-hemmer ikke er egnet. Gjelder foreløpig Helse Vest og Helse Midt-Norge.",
    typeText: "Revmatologi - andre biologiske",
    rhf: ["vest", "midt"],
    useContext: "single",
    period: { start: "2025-03-01", end: "2026-02-28" },
    goals: [{ text: "Aksial spondyloartritt og psoriasisartritt", addresses: [["M45", "Ankylosing spondylitis"], ["M46.8", "Non-radiographic axial spondyloarthritis"], ["L40.5", "Psoriatic arthritis"]] }],
    rank: "integer",
    actions: [["cosentyx", 1], ["taltz", 2], ["bimzelx", 3], ["rinvoq", 4], ["xeljanz", 5]],
  },
  {
    id: "pd-psoriasis",
    name: "Psoriasis - biologiske legemidler",
    title: "Biologiske legemidler ved moderat til alvorlig plakkpsoriasis",
    description: "Rangering av biologiske legemidler ved moderat til alvorlig plakkpsoriasis hos voksne som ikke har respondert på, eller ikke tåler, konvensjonell systemisk behandling.",
    diseaseGroup: "Psoriasis",
    rhf: ALL_RHF,
    useContext: "single",
    period: { start: "2025-04-01" },
    reviewed: "2025-03-20",
    goals: [{ text: "Plakkpsoriasis", addresses: [["L40.0", "Plaque psoriasis"]] }],
    rank: "integer",
    // Listed upstream out of rank order on purpose.
    actions: [["hyrimoz", 2], ["pyzchiva", 1], ["skyrizi", 3, "bare"], ["tremfya", 4], ["ilumetri", 5], ["cosentyx", 6], ["taltz", 7], ["bimzelx", 9], ["kyntheum", 8], ["cimzia", 10]],
  },
  {
    id: "pd-ibd-crohn",
    name: "Crohns sykdom",
    title: "Biologiske legemidler ved Crohns sykdom",
    description: "Rangering av biologiske og målrettede legemidler ved moderat til alvorlig Crohns sykdom hos voksne.",
    diseaseGroup: "IBD",
    rhf: ALL_RHF,
    useContext: "each",
    period: { start: "2025-01-01", end: "2025-12-31" },
    reviewed: "2024-12-05",
    goals: [{ text: "Induksjon og vedlikehold av remisjon ved Crohns sykdom", addresses: [["K50.0", "Crohn's disease of small intestine"], ["K50.1", "Crohn's disease of large intestine"]] }],
    rank: "integer",
    actions: [["remsima", 1], ["hyrimoz", 2], ["pyzchiva", 3], ["entyvio", 4, "versioned"], ["skyrizi", 5], ["rinvoq", 6]],
  },
  {
    id: "pd-ibd-ulceros-kolitt",
    name: "Ulcerøs kolitt",
    title: "Biologiske og målrettede syntetiske legemidler ved ulcerøs kolitt",
    description: "Rangering av legemidler ved moderat til alvorlig ulcerøs kolitt hos voksne med utilstrekkelig effekt av konvensjonell behandling.",
    diseaseGroup: "IBD",
    rhf: ALL_RHF,
    useContext: "single",
    period: { start: "2025-01-01T00:00:00+01:00", end: "2025-12-31T00:00:00+01:00" },
    reviewed: "2024-12-05",
    goals: [{ text: "Induksjon og vedlikehold av remisjon ved ulcerøs kolitt", addresses: [["K51", "Ulcerative colitis"]] }],
    rank: "positiveInt",
    actions: [["remsima", 1], ["amgevita", 2], ["entyvio", 3], ["zeposia", 4], ["velsipity", 5], ["xeljanz", 6], ["omvoh", 7], ["pyzchiva", 8]],
  },
  {
    id: "pd-hepatitt-c",
    name: "Hepatitt C",
    title: "Direktevirkende antivirale midler ved kronisk hepatitt C",
    description: "Behandling av kronisk hepatitt C hos voksne",
    diseaseGroup: "Hepatitt C",
    rhf: ALL_RHF,
    useContext: "single",
    focus: { code: "128302006", display: "Chronic hepatitis C" },
    period: { start: "2025-03-01", end: "2027-02-28" },
    reviewed: "2025-02-03",
    goals: [{ text: "Vedvarende virologisk respons (helbredelse)", addresses: [["B18.2", "Chronic hepatitis C"]] }],
    rank: "integer",
    actions: [["maviret", 1], ["epclusa", 2], ["zepatier", 3], ["vosevi", 4]],
  },
  {
    id: "pd-hiv-oppstart",
    name: "HIV - oppstart av behandling",
    title: "Antiretroviral behandling ved oppstart",
    description: "Førstevalg ved oppstart av antiretroviral behandling hos voksne med hiv-infeksjon. Valget tilpasses resistens, komorbiditet og legemiddelinteraksjoner.",
    diseaseGroup: "HIV",
    rhf: ALL_RHF,
    useContext: "each",
    period: { start: "2025-04-01", end: "2026-03-31" },
    goals: [{ text: "Varig supprimert virusmengde", addresses: [["B20"], ["B24"], ["Z21"]] }],
    rank: "integer",
    actions: [["dovato", 1], ["biktarvy", 2], ["tivicay-emtricitabin-tenofovir", 3], ["triumeq", 4], ["delstrigo", 5], ["symtuza", 6]],
  },
  {
    id: "pd-hiv-bytte",
    name: "HIV - bytte av velfungerende behandling",
    title: "Bytte av antiretroviral behandling ved supprimert virusmengde",
    description: "Rekkefølge for bytte av velfungerende behandling hos pasienter med supprimert virusmengde. Listen er i prioritert rekkefølge.",
    diseaseGroup: "HIV",
    rhf: ["sorost"],
    useContext: "single",
    period: { start: "2025-04-01", end: "2026-03-31" },
    reviewed: "2025-03-11",
    goals: [{ text: "Opprettholde supprimert virusmengde med enklere eller bedre tolerert behandling", addresses: [["B24", "HIV disease"]] }],
    rank: "none",
    actions: [["dovato"], ["juluca"], ["biktarvy"], ["vocabria-rekambys"]],
  },
  {
    id: "pd-astma-biologiske",
    name: "Alvorlig astma - biologiske legemidler",
    title: "Biologiske legemidler ved alvorlig astma",
    description: "Rangering av biologiske legemidler ved alvorlig astma som ikke er tilstrekkelig kontrollert med høydose inhalasjonssteroider og langtidsvirkende beta₂-agonist.",
    diseaseGroup: "Astma (biologiske)",
    rhf: ALL_RHF,
    useContext: "single",
    period: { start: "2025-02-15" },
    reviewed: "2025-01-30",
    goals: [{ text: "Færre eksaserbasjoner og redusert bruk av systemiske steroider", addresses: [["J45.0", "Predominantly allergic asthma"], ["J45.1", "Nonallergic asthma"], ["J45.9"]] }],
    rank: "integer",
    actions: [["nucala", 1], ["fasenra", 2], ["dupixent", 3], ["tezspire", 4, "bare"], ["xolair", 5], ["cinqaero", 6]],
  },
  {
    id: "pd-migrene-cgrp",
    name: "Migrene - CGRP-hemmere",
    title: "Forebyggende behandling av migrene med CGRP-hemmere",
    description: "Forebyggende behandling av migrene hos voksne med minst fire migrenedager per måned der minst tre forebyggende legemidler er prøvd.",
    diseaseGroup: "Migrene (CGRP)",
    rhf: ALL_RHF,
    useContext: "single",
    period: { start: "2025-06-01T00:00:00+02:00", end: "2026-05-31T00:00:00+02:00" },
    reviewed: "2025-04-22",
    goals: [{ text: "Redusere antall migrenedager", addresses: [["G43", "Migraine"], ["G43.0"], ["G43.1"]] }],
    rank: "integer",
    actions: [["emgality", 1], ["ajovy", 2], ["aimovig", 3], ["vyepti", 4]],
  },
  {
    id: "pd-spinal-muskelatrofi",
    name: "Spinal muskelatrofi",
    title: "Sykdomsmodifiserende behandling ved spinal muskelatrofi",
    description: "Rangering av sykdomsmodifiserende behandling ved 5q-assosiert spinal muskelatrofi (SMA). Oppstart besluttes av nasjonalt fagråd.",
    typeText: "Nevromuskulære sykdommer",
    rhf: ["midt"],
    useContext: "single",
    period: { start: "2025-01-01", end: "2026-12-31" },
    goals: [{ text: "Bedre eller bevare motorisk funksjon", addresses: [["G12.0", "Spinal muscular atrophy, type I"], ["G12.1", "Other inherited spinal muscular atrophy"]] }],
    rank: "integer",
    actions: [["evrysdi", 1], ["spinraza", 2], ["zolgensma", 3]],
  },
  {
    id: "pd-onkologi-lunge",
    name: "Ikke-småcellet lungekreft - immunterapi",
    title: "PD-1/PD-L1-hemmere ved avansert ikke-småcellet lungekreft",
    description: "Rangering av PD-1/PD-L1-hemmere ved avansert ikke-småcellet lungekreft. Gjelder der legemidlene har likeverdig indikasjon; se Nye Metoder for beslutninger per indikasjon.",
    typeDisplay: "Onkologi",
    rhf: ALL_RHF,
    useContext: "each",
    period: { start: "2025-01-01T00:00:00+01:00" },
    reviewed: "2024-11-28",
    goals: [{ text: "Forlenget overlevelse", addresses: [["C34", "Malignant neoplasm of bronchus and lung"]] }],
    rank: "integer",
    actions: [["keytruda", 1], ["tecentriq", 2], ["libtayo", 3], ["opdivo", 4], ["imfinzi", 5]],
  },
  {
    id: "pd-atopisk-eksem",
    name: "Atopisk eksem - systemisk behandling",
    title: "Biologiske legemidler og JAK-hemmere ved atopisk eksem",
    description: "Rangering ved moderat til alvorlig atopisk eksem hos voksne der topikal behandling og ciklosporin ikke har gitt tilstrekkelig effekt.",
    diseaseGroup: "Atopisk eksem",
    rhf: ["vest"],
    useContext: "single",
    period: { start: "2025-05-01", end: "2026-04-30" },
    goals: [{ text: "Atopisk eksem", addresses: [["L20", "Atopic dermatitis"], ["L20.9"]] }],
    rank: "positiveInt",
    actions: [["dupixent", 1], ["adtralza", 2], ["ebglyss", 3], ["olumiant", 4], ["rinvoq", 5], ["cibinqo", 6]],
  },
];

// ---------------------------------------------------------------------------------------------
// Reimbursement authorizations (RegulatedAuthorization), one per substance
// ---------------------------------------------------------------------------------------------
//
// The subject lists the packages of every product with that INN (1–6).
// `basis`: "array" (default, one CodeableConcept per code), "object" (a single CodeableConcept with
// all codes), "grouped" (an array with one CodeableConcept holding all codes).
// `regUrl: "upper"` spells the extension URL .../ReimbursementRegulation.
// `region`: RHF codings in `region` (optional).

interface Authorization {
  inn: string;
  icd: string[];
  about: string;
  basis?: "array" | "object" | "grouped";
  basisText?: string;
  regUrl?: "upper";
  region?: Rhf[];
}

const AUTHORIZATIONS: Authorization[] = [
  { inn: "Natalizumab", icd: ["G35"], about: "høyaktiv relapserende-remitterende multippel sklerose", basis: "object", region: ["nord"] },
  { inn: "Ocrelizumab", icd: ["G35"], about: "relapserende og primær progressiv multippel sklerose" },
  { inn: "Ofatumumab", icd: ["G35"], about: "relapserende multippel sklerose" },
  { inn: "Dimetylfumarat", icd: ["G35"], about: "relapserende-remitterende multippel sklerose" },
  { inn: "Teriflunomid", icd: ["G35"], about: "relapserende-remitterende multippel sklerose", basis: "object" },
  { inn: "Glatirameracetat", icd: ["G35"], about: "relapserende multippel sklerose" },
  { inn: "Peginterferon beta-1a", icd: ["G35"], about: "relapserende-remitterende multippel sklerose" },
  { inn: "Kladribin", icd: ["G35"], about: "høyaktiv relapserende multippel sklerose" },
  { inn: "Alemtuzumab", icd: ["G35"], about: "høyaktiv relapserende-remitterende multippel sklerose", region: ALL_RHF },
  { inn: "Fingolimod", icd: ["G35"], about: "høyaktiv relapserende-remitterende multippel sklerose" },
  { inn: "Ozanimod", icd: ["G35", "K51"], about: "relapserende-remitterende multippel sklerose og ulcerøs kolitt" },
  { inn: "Ponesimod", icd: ["G35"], about: "relapserende multippel sklerose" },
  { inn: "Adalimumab", icd: ["M05", "M06", "M45", "L40.5", "L40.0", "K50", "K51", "L73.2"], about: "inflammatoriske revmatiske sykdommer, psoriasis, kronisk inflammatorisk tarmsykdom og hidrosadenitt", region: ALL_RHF },
  { inn: "Etanercept", icd: ["M05", "M06", "M45", "L40.5", "L40.0"], about: "inflammatoriske revmatiske sykdommer og psoriasis" },
  { inn: "Infliximab", icd: ["M05", "M45", "L40.5", "L40.0", "K50", "K51"], about: "inflammatoriske revmatiske sykdommer, psoriasis og kronisk inflammatorisk tarmsykdom", region: ALL_RHF },
  { inn: "Certolizumab pegol", icd: ["M05", "M45", "L40.5", "L40.0"], about: "inflammatoriske revmatiske sykdommer og psoriasis" },
  { inn: "Golimumab", icd: ["M05", "M45", "L40.5", "K51"], about: "inflammatoriske revmatiske sykdommer og ulcerøs kolitt" },
  { inn: "Tocilizumab", icd: ["M05", "M06", "M31.5", "M31.6"], about: "revmatoid artritt og kjempecellearteritt" },
  { inn: "Sarilumab", icd: ["M05", "M06"], about: "revmatoid artritt" },
  { inn: "Abatacept", icd: ["M05", "M06", "L40.5"], about: "revmatoid artritt og psoriasisartritt" },
  { inn: "Baricitinib", icd: ["M05", "M06", "L20"], about: "revmatoid artritt og atopisk eksem" },
  { inn: "Tofacitinib", icd: ["M05", "L40.5", "M45", "K51"], about: "revmatoid artritt, psoriasisartritt, ankyloserende spondylitt og ulcerøs kolitt" },
  { inn: "Upadacitinib", icd: ["M05", "L40.5", "M45", "M46.8", "K50", "K51", "L20"], about: "inflammatoriske revmatiske sykdommer, kronisk inflammatorisk tarmsykdom og atopisk eksem", region: ALL_RHF },
  { inn: "Filgotinib", icd: ["M05", "K51"], about: "revmatoid artritt og ulcerøs kolitt" },
  { inn: "Secukinumab", icd: ["L40.0", "L40.5", "M45", "M46.8", "L73.2"], about: "psoriasis, psoriasisartritt, aksial spondyloartritt og hidrosadenitt" },
  { inn: "Ixekizumab", icd: ["L40.0", "L40.5", "M45"], about: "psoriasis, psoriasisartritt og aksial spondyloartritt" },
  { inn: "Bimekizumab", icd: ["L40.0", "L40.5", "M45", "L73.2"], about: "psoriasis, psoriasisartritt, aksial spondyloartritt og hidrosadenitt", region: ["vest", "midt"] },
  { inn: "Ustekinumab", icd: ["L40.0", "L40.5", "K50", "K51"], about: "psoriasis, psoriasisartritt og kronisk inflammatorisk tarmsykdom" },
  { inn: "Risankizumab", icd: ["L40.0", "L40.5", "K50"], about: "psoriasis, psoriasisartritt og Crohns sykdom" },
  { inn: "Guselkumab", icd: ["L40.0", "L40.5"], about: "psoriasis og psoriasisartritt" },
  { inn: "Tildrakizumab", icd: ["L40.0"], about: "moderat til alvorlig plakkpsoriasis", basis: "object", basisText: "Plakkpsoriasis" },
  { inn: "Brodalumab", icd: ["L40.0"], about: "moderat til alvorlig plakkpsoriasis" },
  { inn: "Vedolizumab", icd: ["K50", "K51"], about: "Crohns sykdom og ulcerøs kolitt", regUrl: "upper" },
  { inn: "Etrasimod", icd: ["K51"], about: "moderat til alvorlig ulcerøs kolitt", basis: "object" },
  { inn: "Mirikizumab", icd: ["K51"], about: "moderat til alvorlig ulcerøs kolitt" },
  { inn: "Glekaprevir/pibrentasvir", icd: ["B18.2"], about: "kronisk hepatitt C", region: ALL_RHF },
  { inn: "Sofosbuvir/velpatasvir", icd: ["B18.2"], about: "kronisk hepatitt C", region: ALL_RHF },
  { inn: "Sofosbuvir/velpatasvir/voksilaprevir", icd: ["B18.2"], about: "kronisk hepatitt C etter tidligere behandlingssvikt", basis: "object" },
  { inn: "Elbasvir/grazoprevir", icd: ["B18.2"], about: "kronisk hepatitt C genotype 1 og 4" },
  { inn: "Dolutegravir/lamivudin", icd: ["B20", "B24", "Z21"], about: "hiv-infeksjon", basis: "grouped", basisText: "Hiv-infeksjon" },
  { inn: "Bictegravir/emtricitabin/tenofoviralafenamid", icd: ["B20", "B24", "Z21"], about: "hiv-infeksjon", basis: "grouped", basisText: "Hiv-infeksjon" },
  { inn: "Dolutegravir/abakavir/lamivudin", icd: ["B20", "B24", "Z21"], about: "hiv-infeksjon" },
  { inn: "Dolutegravir", icd: ["B20", "B24", "Z21"], about: "hiv-infeksjon i kombinasjon med andre antiretrovirale legemidler" },
  { inn: "Emtricitabin/tenofovirdisoproksil", icd: ["B20", "B24", "Z21"], about: "hiv-infeksjon i kombinasjon med andre antiretrovirale legemidler" },
  { inn: "Darunavir/kobicistat/emtricitabin/tenofoviralafenamid", icd: ["B20", "B24", "Z21"], about: "hiv-infeksjon" },
  { inn: "Doravirin/lamivudin/tenofovirdisoproksil", icd: ["B20", "B24", "Z21"], about: "hiv-infeksjon" },
  { inn: "Dolutegravir/rilpivirin", icd: ["B24", "Z21"], about: "hiv-infeksjon med supprimert virusmengde" },
  { inn: "Kabotegravir", icd: ["B24", "Z21"], about: "hiv-infeksjon med supprimert virusmengde, i kombinasjon med rilpivirin", region: ["sorost"] },
  { inn: "Rilpivirin", icd: ["B24", "Z21"], about: "hiv-infeksjon med supprimert virusmengde, i kombinasjon med kabotegravir", region: ["sorost"] },
  { inn: "Mepolizumab", icd: ["J45.0", "J45.1", "J33.9"], about: "alvorlig eosinofil astma og kronisk rhinosinusitt med nesepolypper" },
  { inn: "Benralizumab", icd: ["J45.0", "J45.1"], about: "alvorlig eosinofil astma" },
  { inn: "Dupilumab", icd: ["L20", "J45.0", "J45.1", "J33.9"], about: "atopisk eksem, alvorlig astma og kronisk rhinosinusitt med nesepolypper", region: ALL_RHF },
  { inn: "Tezepelumab", icd: ["J45.0", "J45.1", "J45.9"], about: "alvorlig astma" },
  { inn: "Omalizumab", icd: ["J45.0", "L50.1", "J33.9"], about: "alvorlig allergisk astma, kronisk spontan urtikaria og nesepolypper" },
  { inn: "Reslizumab", icd: ["J45.1"], about: "alvorlig eosinofil astma", basis: "object" },
  { inn: "Galcanezumab", icd: ["G43.0", "G43.1"], about: "forebyggende behandling av migrene" },
  { inn: "Fremanezumab", icd: ["G43.0", "G43.1"], about: "forebyggende behandling av migrene" },
  { inn: "Erenumab", icd: ["G43.0", "G43.1"], about: "forebyggende behandling av migrene", regUrl: "upper" },
  { inn: "Eptinezumab", icd: ["G43.0", "G43.1"], about: "forebyggende behandling av migrene" },
  { inn: "Nusinersen", icd: ["G12.0", "G12.1"], about: "5q-assosiert spinal muskelatrofi", region: ["midt"] },
  { inn: "Risdiplam", icd: ["G12.0", "G12.1"], about: "5q-assosiert spinal muskelatrofi" },
  { inn: "Onasemnogen abeparvovek", icd: ["G12.0"], about: "5q-assosiert spinal muskelatrofi hos barn", basis: "object", basisText: "Spinal muskelatrofi" },
  { inn: "Pembrolizumab", icd: ["C34", "C43", "C64", "C67"], about: "lungekreft, malignt melanom, nyrekreft og blærekreft" },
  { inn: "Nivolumab", icd: ["C34", "C43", "C64"], about: "lungekreft, malignt melanom og nyrekreft" },
  { inn: "Atezolizumab", icd: ["C34", "C22.0"], about: "lungekreft og levercellekarsinom" },
  { inn: "Durvalumab", icd: ["C34"], about: "ikke-småcellet lungekreft stadium III etter kjemoradioterapi" },
  { inn: "Cemiplimab", icd: ["C34", "C44"], about: "ikke-småcellet lungekreft og kutant plateepitelkarsinom" },
  { inn: "Tralokinumab", icd: ["L20"], about: "moderat til alvorlig atopisk eksem", region: ["vest"] },
  { inn: "Lebrikizumab", icd: ["L20"], about: "moderat til alvorlig atopisk eksem" },
  { inn: "Abrocitinib", icd: ["L20"], about: "moderat til alvorlig atopisk eksem" },
];

// =============================================================================================
// Builders
// =============================================================================================

type Json = Record<string, unknown>;

function sha256(text: string): string {
  return createHash("sha256").update(text, "utf8").digest("hex");
}

/** A UUID (version-4 layout) derived from a key; fixed values win. */
function uuidFor(key: string): string {
  const fixed = FIXED_UUID[key];
  if (fixed) return fixed;
  const h = sha256(`nompd-sample/uuid/${key}`);
  const variant = ((parseInt(h[16]!, 16) & 0x3) | 0x8).toString(16);
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-4${h.slice(13, 16)}-${variant}${h.slice(17, 20)}-${h.slice(20, 32)}`;
}

/** A timestamp between `from` and `from + spanDays`, derived from a key. */
function stampFor(key: string, from = "2025-01-06", spanDays = 110): string {
  const n = parseInt(sha256(`nompd-sample/stamp/${key}`).slice(0, 12), 16);
  const ms = Date.parse(`${from}T00:00:00Z`) + (n % spanDays) * 86_400_000 + (6 + (n % 9)) * 3_600_000 + (n % 60) * 60_000;
  return new Date(ms).toISOString().replace(/\.\d{3}Z$/, "Z");
}

/** Six-digit FEST varenummer per package text: fixed values first, otherwise hashed, unique. */
const varenummerByPack = new Map<string, string>();
function varenummer(pack: string): string {
  const known = varenummerByPack.get(pack) ?? FIXED_VARENUMMER[pack];
  if (known) {
    varenummerByPack.set(pack, known);
    return known;
  }
  const taken = new Set([...varenummerByPack.values(), ...Object.values(FIXED_VARENUMMER)]);
  for (let salt = 0; ; salt++) {
    const vnr = String(parseInt(sha256(`nompd-sample/varenummer/${salt}/${pack}`).slice(0, 12), 16) % 600_000).padStart(6, "0");
    if (!taken.has(vnr)) {
      varenummerByPack.set(pack, vnr);
      return vnr;
    }
  }
}

function slug(text: string): string {
  return text
    .toLowerCase()
    .replace(/æ/g, "ae")
    .replace(/ø/g, "o")
    .replace(/å/g, "a")
    .replace(/[^a-z0-9]+/g, "-")
    .replace(/^-|-$/g, "");
}

function icd(code: string): { system: string; code: string; display: string } {
  const display = ICD10[code];
  if (!display) throw new Error(`unknown ICD-10 code ${code}`);
  return { system: ICD10_SYSTEM, code, display };
}

function rhfCoding(rhf: Rhf): { system: string; code: string; display: string } {
  return { system: RHF_SYSTEM, ...RHF[rhf] };
}

function identifier(uuid: string): Json[] {
  return [{ system: ID_SYSTEM, value: uuid }];
}

function assert(condition: unknown, message: string): asserts condition {
  if (!condition) throw new Error(message);
}

// --- ActivityDefinition ----------------------------------------------------------------------

interface Alternative {
  key: string;
  id: string;
  uuid: string;
  name: string;
  description?: string;
  packs: string[];
  articles: ArticleShape;
  atc?: string;
  atcFirst?: boolean;
  brand: string;
  lastUpdated?: string;
}

const productByKey = new Map(PRODUCTS.map((p) => [p.key, p]));

function alternatives(): Alternative[] {
  const list: Alternative[] = [];
  for (const p of PRODUCTS) {
    if (p.standalone === false) continue;
    list.push({
      key: p.key,
      id: `ad-${p.key}`,
      uuid: uuidFor(`ad-${p.key}`),
      name: `${p.inn} (${p.brand})`,
      description: p.description,
      packs: p.packs,
      articles: p.articles ?? "coding",
      atc: p.atc,
      atcFirst: p.atcFirst,
      brand: p.brand,
      lastUpdated: p.lastUpdated,
    });
  }
  for (const c of COMBINATIONS) {
    const parts = c.of.map((k) => productByKey.get(k));
    assert(parts.every(Boolean), `combination ${c.key} names an unknown product`);
    list.push({
      key: c.key,
      id: `ad-${c.key}`,
      uuid: uuidFor(`ad-${c.key}`),
      name: c.name,
      description: c.description,
      packs: parts.flatMap((p) => p!.packs),
      articles: "coding",
      brand: parts.map((p) => p!.brand).join(" + "),
    });
  }
  return list;
}

function activityDefinition(a: Alternative): Json {
  assert(a.packs.length >= 1 && a.packs.length <= 4, `${a.id}: 1–4 article numbers expected, got ${a.packs.length}`);
  const varenummerCodings = a.packs.map((pack) => ({ system: VARENUMMER_SYSTEM, code: varenummer(pack), display: pack }));
  const atcCoding = a.atc ? [{ system: ATC_SYSTEM, code: a.atc }] : [];

  const resource: Json = {
    resourceType: "ActivityDefinition",
    id: a.id,
    meta: { lastUpdated: a.lastUpdated ?? stampFor(a.id) },
  };
  if (a.articles === "extension") {
    resource.extension = a.packs.map((pack) => ({ url: EXT_ARTICLE_NUMBER, valueString: varenummer(pack) }));
  }
  Object.assign(resource, {
    url: `${BASE}/ActivityDefinition/${a.uuid}`,
    identifier: identifier(a.uuid),
    version: CONTENT_VERSION,
    name: a.name,
    status: "active",
  });
  if (a.description) resource.description = a.description;
  resource.kind = "MedicationRequest";

  switch (a.articles) {
    case "coding":
      resource.productCodeableConcept = {
        coding: a.atcFirst ? [...atcCoding, ...varenummerCodings] : [...varenummerCodings, ...atcCoding],
        text: a.brand,
      };
      break;
    case "extension":
      // Article numbers live in the extensions; the product itself is named by ATC code or text only.
      resource.productCodeableConcept = atcCoding.length ? { coding: atcCoding, text: a.brand } : { text: a.brand };
      break;
    case "reference":
      assert(a.packs.length === 1, `${a.id}: productReference holds exactly one package`);
      resource.productReference = { identifier: { system: VARENUMMER_SYSTEM, value: varenummer(a.packs[0]!) }, display: a.packs[0] };
      break;
  }
  return resource;
}

// --- PlanDefinition --------------------------------------------------------------------------

function canonical(a: Alternative, style: Canon): string {
  switch (style) {
    case "url":
      return `${BASE}/ActivityDefinition/${a.uuid}`;
    case "versioned":
      return `${BASE}/ActivityDefinition/${a.uuid}|${CONTENT_VERSION}`;
    case "bare":
      return a.uuid;
  }
}

function useContext(g: Group): Json[] {
  const jurisdiction = { system: USAGE_CONTEXT_SYSTEM, code: "jurisdiction" };
  const contexts: Json[] =
    g.useContext === "single"
      ? [{ code: jurisdiction, valueCodeableConcept: { coding: g.rhf.map(rhfCoding) } }]
      : g.rhf.map((r) => ({ code: jurisdiction, valueCodeableConcept: { coding: [rhfCoding(r)] } }));
  if (g.focus) {
    contexts.push({
      code: { system: USAGE_CONTEXT_SYSTEM, code: "focus" },
      valueCodeableConcept: { coding: [{ system: SNOMED_SYSTEM, ...g.focus }] },
    });
  }
  return contexts;
}

function planDefinition(g: Group, altByKey: Map<string, Alternative>): Json {
  const isExample = g.id === "pd-ms-natalizumab";
  assert(isExample ? g.actions.length === 1 : g.actions.length >= 3 && g.actions.length <= 10, `${g.id}: 3–10 actions expected`);
  const uuid = uuidFor(g.id);

  const resource: Json = {
    resourceType: "PlanDefinition",
    id: g.id,
    meta: { lastUpdated: g.lastUpdated ?? (g.reviewed ? stampFor(g.id, g.reviewed, 1) : stampFor(g.id)) },
  };
  if (g.diseaseGroup) resource.extension = [{ url: EXT_DISEASE_GROUP, valueString: g.diseaseGroup }];
  Object.assign(resource, {
    url: `${BASE}/PlanDefinition/${uuid}`,
    identifier: identifier(uuid),
    version: CONTENT_VERSION,
    name: g.name,
    title: g.title,
  });
  if (g.typeText) resource.type = { text: g.typeText };
  if (g.typeDisplay) resource.type = { coding: [{ system: TERAPIOMRAADE_SYSTEM, code: slug(g.typeDisplay), display: g.typeDisplay }] };
  Object.assign(resource, {
    status: "active",
    description: g.description,
    useContext: useContext(g),
    jurisdiction: [{ coding: [{ system: "urn:iso:std:iso:3166", code: "NO", display: "Norway" }] }],
  });
  if (g.reviewed) resource.lastReviewDate = g.reviewed;
  resource.effectivePeriod = g.period.end ? { start: g.period.start, end: g.period.end } : { start: g.period.start };
  resource.goal = g.goals.map((goal) => ({
    description: { text: goal.text },
    addresses: goal.addresses.map(([code, text]) => (text ? { coding: [icd(code)], text } : { coding: [icd(code)] })),
  }));
  resource.action = g.actions.map(([key, rank, style = "url"]) => {
    const alt = altByKey.get(key);
    assert(alt, `${g.id}: unknown alternative ${key}`);
    const action: Json = {};
    if (g.rank !== "none") {
      assert(rank !== undefined, `${g.id}: action ${key} needs a rank`);
      action.extension = [g.rank === "integer" ? { url: EXT_RANK, valueInteger: rank } : { url: EXT_RANK, valuePositiveInt: rank }];
    }
    action.title = alt.name;
    action.definitionCanonical = canonical(alt, style);
    return action;
  });
  return resource;
}

// --- RegulatedAuthorization ------------------------------------------------------------------

function regulatedAuthorization(auth: Authorization): Json {
  const products = PRODUCTS.filter((p) => p.inn === auth.inn);
  assert(products.length > 0, `authorization ${auth.inn}: no product with that INN`);
  const packs = products.flatMap((p) => [...p.packs, ...(p.otherPacks ?? [])]);
  assert(packs.length >= 1 && packs.length <= 6, `authorization ${auth.inn}: 1–6 article numbers expected, got ${packs.length}`);

  const id = `ra-${slug(auth.inn)}`;
  const uuid = uuidFor(id);
  const codings = auth.icd.map(icd);
  const text = auth.basisText ? { text: auth.basisText } : {};
  let basis: unknown;
  switch (auth.basis ?? "array") {
    case "array":
      basis = codings.map((c) => ({ coding: [c] }));
      break;
    case "object":
      basis = { coding: codings, ...text };
      break;
    case "grouped":
      basis = [{ coding: codings, ...text }];
      break;
  }
  const updated = stampFor(id);

  const resource: Json = {
    resourceType: "RegulatedAuthorization",
    id,
    meta: { lastUpdated: updated },
    extension: [
      {
        url: auth.regUrl === "upper" ? EXT_REIMBURSEMENT_UPPER : EXT_REIMBURSEMENT,
        valueCodeableConcept: { coding: [{ system: REFUSJONSHJEMMEL_SYSTEM, code: "950", display: "H-resept" }] },
      },
    ],
    identifier: identifier(uuid),
    subject: packs.map((pack) => ({ identifier: { system: VARENUMMER_SYSTEM, value: varenummer(pack) }, display: pack })),
    description: `${auth.inn} forskrives på H-resept og finansieres av de regionale helseforetakene ved ${auth.about}.`,
  };
  if (auth.region) resource.region = [{ coding: auth.region.map(rhfCoding) }];
  Object.assign(resource, {
    status: { coding: [{ code: "active" }] },
    statusDate: updated.slice(0, 10),
    basis,
  });
  return resource;
}

// --- Bundles ---------------------------------------------------------------------------------

const UPSTREAM_PATH: Record<string, string> = {
  PlanDefinition: "HreseptGuidelines/PlanDefinition",
  ActivityDefinition: "HreseptGuidelines/ActivityDefinition",
  RegulatedAuthorization: "HreseptReimbursement/RegulatedAuthorization",
};

function searchset(resourceType: string, resources: Json[]): Json {
  const path = `${BASE}/${UPSTREAM_PATH[resourceType]}`;
  return {
    resourceType: "Bundle",
    type: "searchset",
    timestamp: BUNDLE_TIMESTAMP,
    total: resources.length,
    link: [{ relation: "self", url: path }],
    entry: resources.map((resource) => ({
      fullUrl: `${path}/${resource.id}`,
      resource,
      search: { mode: "match" },
    })),
  };
}

function checkUnique(what: string, values: string[]): void {
  const seen = new Set<string>();
  for (const v of values) {
    assert(!seen.has(v), `duplicate ${what}: ${v}`);
    seen.add(v);
  }
}

function main(): void {
  const alts = alternatives();
  const altByKey = new Map(alts.map((a) => [a.key, a]));

  const activityDefinitions = alts.map(activityDefinition);
  const planDefinitions = GROUPS.map((g) => planDefinition(g, altByKey));
  const authorizations = AUTHORIZATIONS.map(regulatedAuthorization);

  const used = new Set(GROUPS.flatMap((g) => g.actions.map(([key]) => key)));
  for (const a of alts) assert(used.has(a.key), `alternative ${a.key} is in no treatment group`);
  for (const p of PRODUCTS) assert(AUTHORIZATIONS.some((r) => r.inn === p.inn), `product ${p.key} has no authorization`);
  for (const r of Object.keys(RHF) as Rhf[]) assert(GROUPS.some((g) => g.rhf.includes(r)), `RHF ${r} is in no treatment group`);
  checkUnique("resource id", [...planDefinitions, ...activityDefinitions, ...authorizations].map((r) => r.id as string));
  checkUnique("uuid", [...planDefinitions, ...activityDefinitions, ...authorizations].map((r) => (r.identifier as Json[])[0]!.value as string));
  checkUnique("varenummer", [...varenummerByPack.values()]);

  mkdirSync(OUT_DIR, { recursive: true });
  const files: [string, Json][] = [
    ["PlanDefinition.json", searchset("PlanDefinition", planDefinitions)],
    ["ActivityDefinition.json", searchset("ActivityDefinition", activityDefinitions)],
    ["RegulatedAuthorization.json", searchset("RegulatedAuthorization", authorizations)],
  ];
  for (const [name, bundle] of files) {
    const text = JSON.stringify(bundle, null, 2) + "\n";
    writeFileSync(join(OUT_DIR, name), text);
    console.log(`${name}: ${bundle.total} resources, ${(Buffer.byteLength(text) / 1024).toFixed(1)} KB`);
  }
}

main();
