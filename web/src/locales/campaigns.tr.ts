// Kampanyaların Türkçe metinleri: campaigns.en.ts ile aynı anahtarlar (tip denetimi söyler).
import type { campaignsEn } from "./campaigns.en";

export const campaignsTr: Record<keyof typeof campaignsEn, string> = {
  "campaigns.title": "Kampanyalar",
  "campaigns.running": "Çalışıyor",
  "campaigns.paused": "Duraklatıldı",
  "campaigns.pause": "Duraklat",
  "campaigns.resume": "Sürdür",
  "campaigns.pausedDone": "Duraklatıldı: yeni arama yapılmaz; süren görüşmeler tamamlanır.",
  "campaigns.resumedDone": "Sürdürüldü: hazır temsilcileri için arıyor.",
  "campaigns.agents": "Temsilciler",
  "campaigns.noAgents": "Atanmış temsilci yok",
  "campaigns.stale": "Değerler yenilenemedi: {message}",
  "campaigns.figure.listed": "Liste",
  "campaigns.figure.open": "Açık",
  "campaigns.figure.dueNow": "Şimdi aranabilir",
  "campaigns.figure.attempts": "Bugünkü denemeler",
  "campaigns.figure.contacts": "Ulaşılan",
  "campaigns.figure.promises": "Ödeme sözleri",
  "campaigns.contactRate": "ulaşma oranı {rate} · borçlunun kendisi {rightParty}",
  "campaigns.def.listed": "kampanya listesindeki müşteriler",
  "campaigns.def.open": "listede olup henüz ulaşılmamış, deneme hakkı bitmemiş ve listeden çıkarılmamış olanlar",
  "campaigns.def.dueNow":
    "açık olup yeniden deneme süresini beklemeyen ve şu anda aranmayanlar; arama saatleri, aranmayacaklar listesi ve vadesi gelmemiş sözler arama anında denetlenir",
  "campaigns.def.attempts": "kampanyanın bugünkü aramaları, bittiklerinde sayılır",
  "campaigns.def.contacts": "müşterinin yanıtladığı denemeler; ulaşma oranı: ulaşılan ÷ deneme; borçlunun kendisi: sonuç kodu yanlış numara ya da telesekreter olmayan görüşmeler",
  "campaigns.def.promises": "bugünkü kampanya görüşmelerinde verilen ödeme sözleri ve her para birimindeki tutarları",
  "campaigns.def.abandoned.name": "Bizden kaynaklı kaçan",
  "campaigns.def.abandoned":
    "yok: aşamalı arama bir müşteriyi yalnızca hazır bir temsilci için arar, yanıtlayan hiçbir müşteri temsilci beklemez",
};
