import type { MedicinalReference } from "../models";

export function medicinalReference(varenummer: string): MedicinalReference {
  return {
    reference: null,
    type: "FEST/LegemiddelPakning",
    identifier: { system: "FEST/Varenummer", value: varenummer },
    display: null,
  };
}

export function medicines(articleNumbers: string[]): MedicinalReference[] {
  return articleNumbers.map(medicinalReference);
}
